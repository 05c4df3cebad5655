#!/usr/bin/python
# One call of the kt2ops service contract (FHIR server, authentication service, KT 1.3 server, application service).
from __future__ import annotations

DOCUMENTATION = r"""
module: service_contract
short_description: Call an operation of the kt2ops service contract on the host
description:
  - The services (KT 2.0 FHIR server and authentication service, KT 1.3 server, application service) are
    operated through a small HTTP contract on the host's loopback interface (health, domains, traffic,
    triggers, queue depth, counts and hash totals). Changing operations answer with C(changed) and a C(diff).
  - In check mode a changing operation is sent with C(dry_run=true); the service reports what it would
    change without changing it, so check mode with diff is truthful.
  - A refusal (4xx/5xx) fails the task with the service's own message.
options:
  url:
    description: Contract URL on the host (filter kt2ops.platform.contract_url, then the operation).
    type: str
    required: true
  method: {description: HTTP method., type: str, default: GET, choices: [GET, PUT, POST, DELETE]}
  body: {description: JSON body of PUT and POST., type: raw}
  timeout: {description: Seconds to wait for the answer., type: int, default: 120}
author: kt2ops
"""

EXAMPLES = r"""
- name: Close traffic for a domain
  kt2ops.platform.service_contract:
    url: "{{ 'fhir_server' | kt2ops.platform.contract_url }}/domains/ggz-noorderlicht/traffic"
    method: PUT
    body: {traffic: closed}
"""

RETURN = r"""
json: {description: The service's answer., returned: success, type: dict}
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "method": {"type": "str", "default": "GET", "choices": ["GET", "PUT", "POST", "DELETE"]},
            "body": {"type": "raw"},
            "timeout": {"type": "int", "default": 120},
        },
        supports_check_mode=True,
    )
    url, method = module.params["url"], module.params["method"]
    changing = method != "GET"
    if changing and module.check_mode:
        url += ("&" if "?" in url else "?") + "dry_run=true"
    data = json.dumps(module.params["body"]) if module.params["body"] is not None else None
    response, info = fetch_url(module, url, data=data, method=method, timeout=module.params["timeout"],
                               headers={"Content-Type": "application/json"})
    raw = response.read() if response else info.get("body", b"")
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {"text": raw.decode(errors="replace")}
    if info["status"] >= 400 or info["status"] < 0:
        issues = answer.get("issue") or [{}]
        reason = issues[0].get("diagnostics") or answer.get("text") or info.get("msg")
        module.fail_json(msg=f"{method} {module.params['url']}: {info['status']}: {reason}", status=info["status"])
    result = {"changed": bool(answer.get("changed")) if changing else False, "json": answer}
    if result["changed"] and "diff" in answer:
        result["diff"] = answer["diff"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
