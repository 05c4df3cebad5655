# Runbook M.2: the trial migration on mgr2 with a cleaned, encrypted, hash-verified copy of production data.
from __future__ import annotations

from pathlib import Path

from ansible.utils.display import Display
from ansible_collections.kt2ops.platform.plugins.plugin_utils.kt2_action import Kt2Action

from kt2ops.migration.target import environment_host, target_from_vars, workdir
from kt2ops.migration.trial import deliver, make_package, run_trial
from kt2ops.remote import Remote
from kt2ops.runbook.context import load_domain


class ActionModule(Kt2Action):
    def what(self, args):
        return f"M.2 trial migration of {args['domain']} on {args['environment']} ({args['phase']})"

    def act(self, args, task_vars, result):
        hostvars, inventory = task_vars["hostvars"], Path(task_vars["inventory_dir"])
        what = self.what(args)
        if self._task.check_mode:
            return {**result, "changed": True, "msg": f"{what} would run"}
        doc = load_domain(inventory, args["domain"])
        if args["phase"] == "deliver":
            made = make_package(Remote.from_hostvars(args["kt13_host"], hostvars[args["kt13_host"]]), doc,
                                Path(args["rules"]), inventory / ".runbook")
            host = environment_host(task_vars["groups"], args["environment"])
            deliver(Remote.from_hostvars(host, hostvars[host]),
                    [Path(made["package"]), Path(made["manifest"])], report=Display().display)
            removed = {r["id"]: [r["messages_removed"], r["fields_removed"]] for r in made["cleaning"]}
            return {**result, "changed": made["sealed"], "delivery": made,
                    "msg": f"{what}: cleaned (rule: [messages, fields] removed) {removed}, "
                           f"{'sealed' if made['sealed'] else 'unchanged since the last seal'}, delivered",
                    "kt2_artefacts": {"package": Path(made["package"]).name, "cleaning": removed}}
        target = target_from_vars(task_vars, args["environment"])
        expected = sum(doc["migration"].get("expected_counts", {}).values()) or None
        report = run_trial(doc, inventory / ".runbook", workdir(inventory, args["domain"], args["environment"]),
                           target, expected, args["batch_size"], production_limit(doc, task_vars))
        estimate, exempt = report["estimated_production_seconds"], report["estimated_production_seconds_exempt"]
        return {**result, "changed": sum(report["bundles"].values()) > 0, "report": report,
                "msg": f"{what}: {sum(report['migrated'].values())} resources in {report['seconds']} s, "
                       f"error rate {report['error_rate_percent']}%"
                       + (f"; production estimate {estimate} s for {report['expected_production_resources']} "
                          f"resources (K.3) under its ingress limit, {exempt} s with P.8L's exemption"
                          if estimate else ""),
                "kt2_artefacts": {"error_rate_percent": report["error_rate_percent"], "seconds": report["seconds"],
                                  "estimated_production_seconds": estimate,
                                  "estimated_production_seconds_exempt": exempt,
                                  "package_sha256": report["package_sha256"]}}


def production_limit(doc, task_vars) -> float | None:
    """The ingress limit (requests/s) of the domain's production environment, from its kt2_env."""
    for environment in doc["domain"]["environments"]:
        hosts = task_vars["groups"].get(environment, [])
        facts = task_vars["hostvars"][hosts[0]]["kt2_env"] if hosts else {}
        if facts.get("data_class") == "production":
            return (facts.get("ingress_limit") or {}).get("rate")
    return None
