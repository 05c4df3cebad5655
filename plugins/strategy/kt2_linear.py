# The linear strategy, accelerated by mitogen when it is installed and not switched off.
#
# mitogen hooks into Ansible as a strategy plugin (which Ansible 12 deprecates), so this shim keeps
# the project working, tuned by ansible.cfg alone, when mitogen is absent, broken, or disabled with
# KT2OPS_MITOGEN=0.
from __future__ import annotations

import os

DOCUMENTATION = """
name: kt2_linear
short_description: linear strategy, with mitogen when available
description:
  - Runs tasks like the C(linear) strategy. When the C(mitogen) package imports and
    C(KT2OPS_MITOGEN) is not C(0), mitogen's connection multiplexing is used for every play
    except those on the local connection (C(connection=local)), whose asynchronous tasks hang under it.
  - mitogen's SSH connection takes keys only from files. A host's vault-encrypted key (C(kt2_ssh_key_file))
    is therefore opened in memory and handed to the ssh-agent Ansible runs for the run
    (C(ssh_agent = auto)) before such a play, as Ansible's own SSH connection does with C(ansible_ssh_private_key).
author: kt2ops
"""

from ansible.errors import AnsibleError
from ansible.plugins.strategy.linear import StrategyModule as _Linear

from kt2ops.secrets import SecretError, use_vault
from kt2ops.ssh_agent import add_key

_accelerated: type | None = None
# Key files already handed to Ansible's agent by this ansible-playbook (the agent lives as long as it).
_in_agent: set[str] = set()
if os.environ.get("KT2OPS_MITOGEN", "1") != "0":
    try:
        import ansible_mitogen.strategy

        class _MitogenLinear(ansible_mitogen.strategy.StrategyMixin, _Linear):  # type: ignore[misc]
            pass

        _accelerated = _MitogenLinear
    except ImportError:  # mitogen not installed: stay on plain linear
        pass


class StrategyModule(_Linear):
    def run(self, iterator, play_context):  # type: ignore[no-untyped-def]
        # Ansible builds the strategy before it hands over the play, so the choice is made here. Local
        # plays gain nothing from mitogen, and its async tasks hang in them (molecule's podman create
        # and destroy playbooks).
        if _accelerated is not None and iterator._play.connection != "local":
            self._keys_to_agent(iterator._play)
            self.__class__ = _accelerated
            return self.run(iterator, play_context)
        return super().run(iterator, play_context)

    def _keys_to_agent(self, play) -> None:  # type: ignore[no-untyped-def]
        hostvars = [self._variable_manager.get_vars(play=play, host=host)
                    for host in self._inventory.get_hosts(play.hosts)]
        key_files = {v.get("kt2_ssh_key_file") for v in hostvars if v.get("ansible_connection") != "local"} - {None}
        if not key_files:
            return
        if not os.environ.get("SSH_AUTH_SOCK"):
            raise AnsibleError("kt2_ssh_key_file needs an ssh-agent: set ssh_agent = auto in ansible.cfg")
        use_vault(self._loader._vault)
        for key_file in sorted(key_files - _in_agent):
            try:
                add_key(key_file, os.environ["SSH_AUTH_SOCK"])
            except SecretError as error:
                raise AnsibleError(str(error)) from None
            _in_agent.add(key_file)
