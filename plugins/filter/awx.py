# The runbook's AWX workflows as awx.awx workflow nodes: see kt2ops.awx.
# The filter's documentation is the YAML file of its name beside this one.
from __future__ import annotations

from ansible.errors import AnsibleFilterError

from kt2ops.awx import WorkflowError, workflow_nodes


def awx_workflow_nodes(workflow, organization):
    try:
        return workflow_nodes(workflow, organization)
    except WorkflowError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"awx_workflow_nodes": awx_workflow_nodes}
