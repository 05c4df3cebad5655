# The opening every kt2ops action plugin shares: arguments checked against the documentation of its
# doc-only module (plugins/modules/<name>.py), so what ansible-doc shows is what is enforced, long
# steps tied to the ansible-playbook that started them, and kt2ops' errors turned into the task's failure.
from __future__ import annotations

from functools import cache

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import fragment_loader, module_loader
from ansible.utils.plugin_docs import get_docstring

from kt2ops.errors import Kt2OpsError
from kt2ops.lifeline import end_with_parent
from kt2ops.secrets import use_vault

# What of a documented option is also an argument spec (descriptions and the like are for readers).
SPEC_KEYS = frozenset({"type", "required", "default", "choices", "elements", "no_log", "aliases"})


def spec_from_options(options: dict) -> dict[str, dict]:
    """An Ansible argument spec from a DOCUMENTATION's options: each option without its prose."""
    return {name: {key: value for key, value in option.items() if key in SPEC_KEYS}
            for name, option in (options or {}).items()}


@cache
def argument_spec(module: str) -> dict[str, dict]:
    """The argument spec of the doc-only module of that name (e.g. kt2ops.platform.drain_wait), its doc
    fragments' options included."""
    path = module_loader.find_plugin(module)
    if path is None:
        raise LookupError(f"no documentation module {module} beside its action plugin")
    doc = get_docstring(path, fragment_loader, collection_name=module.rpartition(".")[0], is_module=True)[0]
    return spec_from_options(doc.get("options"))


class Kt2Action(ActionBase):
    """Subclasses implement act(args, task_vars, result) and return the task result. A kt2ops error (or a
    file or connection that fails) raised there fails the task with its message, after what(args) if the
    subclass names what the task was doing."""

    _supports_check_mode = True
    # A long step ends with the ansible-playbook that runs it: a killed run takes the step along.
    ends_with_parent = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=argument_spec(self._task.resolved_action
                                                                          or self._task.action))
        if self.ends_with_parent:
            end_with_parent()
        use_vault(self._loader._vault)
        try:
            return self.act(args, task_vars, result)
        except (Kt2OpsError, OSError) as exc:
            what = self.what(args)
            # The message is complete; the chain would only repeat it (or show what a secret's reader saw).
            raise AnsibleActionFail(f"{what}: {exc}" if what else str(exc)) from None

    def act(self, args: dict, task_vars: dict, result: dict) -> dict:
        raise NotImplementedError

    def what(self, args: dict) -> str:
        """What the task does, in the operator's words, put before a failure's message ('' for none)."""
        return ""
