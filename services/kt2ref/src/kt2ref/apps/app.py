"""Reference application service: acts for the applications (IT-deelnemers) of the domains on this host.
Registering a client posts it to the platform (KT 2.0 as a FHIR Patient with the application's own key,
or KT 1.3 as a CreateOrUpdatePatient message). The application's trigger functions, e.g. a welcome mail to
the outbox, fire when they are switched on: on KT 2.0 when the platform notifies it of a new resource (its
Subscriptions), on KT 1.3 when it registers the client itself. Everything is driven through /_contract."""

import json
import os
import threading
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kt2ref import __version__
from kt2ref.apps.notifications import Notifications
from kt2ref.client import KT2_PROFILE_BASE, Kt2Client, Refused
from kt2ref.common import BadRequest, bad_request_handler, contract_result, dry_run, json_body, load_config
from kt2ref.kt13.messages import EVENT_SYSTEM

# Which event fires which trigger function; a trigger listed for an application fires on its event.
TRIGGER_EVENTS = {"welcome_mail": "client_created", "task_notification": "task_assigned",
                  "sms_reminder": "task_assigned"}
# The switch that stops an application sending to the platform; not a valid trigger id (has a space).
SENDING = "sending to platform"


class AppService:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.state_dir = Path(config["state_dir"])
        self.apps = {(a["domain"], a["id"]): a for a in config["applications"]}
        self.lock = threading.Lock()
        self.clients: dict[tuple[str, str], Kt2Client] = {}
        self.notifications = Notifications(self.state_dir, config.get("kt2", {}).get("notify_url", ""),
                                           self._kt2_client, self._fire, TRIGGER_EVENTS)

    def _app(self, request: Request) -> dict[str, Any]:
        key = (request.path_params["domain"], request.path_params["app"])
        if key not in self.apps:
            raise BadRequest(f"application {key[1]!r} of domain {key[0]!r} is not served on this host", 404,
                             "not-found")
        return self.apps[key]

    # --- trigger state (a small JSON file; one worker, guarded by a lock) ----------------------------

    def _states(self) -> dict[str, bool]:
        path = self.state_dir / "triggers.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def _enabled(self, app: dict[str, Any], switch: str) -> bool:
        return self._states().get(f"{app['domain']}/{app['id']}/{switch}", True)

    def _acts_on(self, app: dict[str, Any], trigger: str, resource: dict[str, Any]) -> bool:
        """Whether the trigger is on and was on when the resource changed: a notification that arrives late (the
        platform delivers asynchronously) of something from before the trigger was switched on acts on nothing."""
        states, key = self._states(), f"{app['domain']}/{app['id']}/{trigger}"  # one read of the switches
        since, changed = states.get(key + "@on"), resource.get("meta", {}).get("lastUpdated")
        return states.get(key, True) and not (since and changed and
                                              datetime.fromisoformat(changed) < datetime.fromisoformat(since))

    async def _switch(self, request: Request, app: dict[str, Any], switch: str) -> Response:
        """Set one of the application's switches (a trigger function, or sending); answers like the contract."""
        wanted = await json_body(request)
        if not isinstance(wanted, dict) or not isinstance(wanted.get("enabled"), bool):
            raise BadRequest('body must be {"enabled": true|false}')
        with self.lock:
            states = self._states()
            key = f"{app['domain']}/{app['id']}/{switch}"
            before = states.get(key, True)
            if before == wanted["enabled"]:
                return contract_result(False, enabled=before)
            if not dry_run(request):
                states[key] = wanted["enabled"]
                states[key + "@on"] = datetime.now(UTC).isoformat() if wanted["enabled"] else None
                tmp = self.state_dir / "triggers.json.tmp"
                tmp.write_text(json.dumps(states, indent=1, sort_keys=True))
                os.replace(tmp, self.state_dir / "triggers.json")
            return contract_result(True, {"enabled": before}, wanted, enabled=wanted["enabled"])

    def triggers(self, request: Request) -> Response:
        app = self._app(request)
        return JSONResponse({t: self._enabled(app, t) for t in app["triggers"]})

    async def set_trigger(self, request: Request) -> Response:
        app = self._app(request)
        trigger = request.path_params["trigger"]
        if trigger not in app["triggers"]:
            raise BadRequest(f"{app['id']} has no trigger function {trigger!r} "
                             f"(it has: {', '.join(app['triggers']) or 'none'})", 404, "not-found")
        if request.method == "GET":
            return JSONResponse({"enabled": self._enabled(app, trigger)})
        return await self._switch(request, app, trigger)

    async def sending(self, request: Request) -> Response:
        """Whether the application sends messages to the platform (runbook P.3 stops it, R turns it on)."""
        app = self._app(request)
        if request.method == "GET":
            return JSONResponse({"enabled": self._enabled(app, SENDING)})
        return await self._switch(request, app, SENDING)

    # --- acting as the application -------------------------------------------------------------------

    async def register_client(self, request: Request) -> Response:
        app = self._app(request)
        details = await json_body(request)
        if not isinstance(details, dict):
            raise BadRequest("body must be a JSON object (given, family, gender, birthDate, email, number)")
        if not self._enabled(app, SENDING):
            raise BadRequest(f"{app['id']} does not send to the platform for domain {app['domain']} now "
                             "(sending stopped, runbook P.3)", 503, "transient")
        number = details.get("number") or uuid.uuid4().hex[:12]
        # What a portal asks a new client, and KT 2.0's Patient profile requires (the lab's defaults are made up).
        patient = {"resourceType": "Patient", "meta": {"profile": [KT2_PROFILE_BASE + "Patient"]}, "active": True,
                   "identifier": [{"system": f"urn:kt2ops:client:{app['id']}", "value": str(number)}],
                   "name": [{"use": "official", "given": [details.get("given", "Test")],
                             "family": details.get("family", "Client")}],
                   "gender": details.get("gender", "unknown"), "birthDate": details.get("birthDate", "2000-01-01"),
                   "telecom": [{"system": "email", "value": details.get("email", f"client-{number}@example.org")}]}
        # The HTTP clients are synchronous; keep the event loop free while they wait.
        reference = await run_in_threadpool(self._publish, app, patient)
        if self.config["platform"] == "kt2":  # the platform's notification fires the trigger functions
            return JSONResponse({"patient": reference}, status_code=201)
        mails = await run_in_threadpool(self._fire, app, "client_created", patient)
        return JSONResponse({"patient": reference, "mails": mails}, status_code=201)

    async def subscriptions(self, request: Request) -> Response:
        """The application's Subscriptions on KT 2.0, one per type its trigger functions react to."""
        app = self._app(request)
        if self.config["platform"] != "kt2":
            raise BadRequest("Subscriptions are a KT 2.0 matter; this host serves KT 1.3", 409, "conflict")
        if request.method == "PUT":
            await json_body(request)
        try:
            had, has = await run_in_threadpool(self.notifications.subscribe, app,
                                               request.method == "GET" or dry_run(request))
        except Refused as err:  # 503: the domain is closed or being migrated; it subscribes once it is open
            raise BadRequest(f"{app['id']} cannot subscribe now: KT 2.0 {err}", 409 if err.status == 503 else 502,
                             "conflict" if err.status == 503 else "exception") from err
        if request.method == "GET":
            return JSONResponse({"criteria": had})
        return contract_result(had != has, {"criteria": had}, {"criteria": has}, criteria=has)

    async def notify(self, request: Request) -> Response:
        """The rest-hook endpoint the platform notifies (no payload): the application searches again."""
        self.notifications.notified(self._app(request))
        return Response(status_code=200)

    def _publish(self, app: dict[str, Any], patient: dict[str, Any]) -> str:
        if self.config["platform"] == "kt2":
            client = self._kt2_client(app)
            value = patient["identifier"][0]
            response = client.fhir("POST", "Patient", json=patient, headers={
                "If-None-Exist": f"identifier={value['system']}|{value['value']}"})
            if response.status_code not in (200, 201):
                raise BadRequest(f"KT 2.0 refused the Patient: {response.status_code} {response.text}", 502)
            return f"Patient/{response.json()['id']}"
        patient_id = f"patient-{patient['identifier'][0]['value']}"
        header = {"resourceType": "MessageHeader", "id": str(uuid.uuid4()),
                  "timestamp": datetime.now(UTC).isoformat(),
                  "event": {"system": EVENT_SYSTEM, "code": "CreateOrUpdatePatient"},
                  "source": {"endpoint": app["id"]}, "data": [{"reference": f"Patient/{patient_id}"}],
                  "patient": {"reference": f"Patient/{patient_id}"}}
        bundle = {"resourceType": "Bundle", "type": "message",
                  "entry": [{"resource": header}, {"resource": {**patient, "id": patient_id}}]}
        response = httpx.post(f"{self.config['kt13_url']}/kt13/{app['kt13_domain']}/FHIR/Koppeltaal/Mailbox",
                              json=bundle, auth=self._kt13_credential(app), timeout=30)
        if response.status_code != 201:
            raise BadRequest(f"KT 1.3 refused the message: {response.status_code} {response.text}", 502)
        return f"Patient/{patient_id}"

    def _kt13_credential(self, app: dict[str, Any]) -> tuple[str, str]:
        """The application's KT 1.3 user and password (HTTP basic), as the kt2_app_service role installed it."""
        path = Path(self.config["kt13_credential_dir"]) / app["domain"] / f"{app['id']}.password"
        return app["id"], path.read_text(encoding="utf-8").strip()

    def _kt2_client(self, app: dict[str, Any]) -> Kt2Client:
        key = (app["domain"], app["id"])
        if key not in self.clients:
            kt2 = self.config["kt2"]
            pem = (Path(kt2["key_dir"]) / app["domain"] / f"{app['id']}.key").read_bytes()
            self.clients[key] = Kt2Client(kt2["base_url"], app["domain"], app["id"], pem, kt2["ca_file"],
                                          connect_host=kt2.get("connect_host"))
        return self.clients[key]

    def _fire(self, app: dict[str, Any], event: str, resource: dict[str, Any]) -> int:
        """The application's trigger functions of the event, each switched on, for a new Patient or Task."""
        sent = 0
        for trigger in app["triggers"]:
            if TRIGGER_EVENTS.get(trigger) != event or not self._acts_on(app, trigger, resource):
                continue
            mail = EmailMessage()
            mail["From"] = f"no-reply@{app['id']}.example"
            mail["X-Kt2-Trigger"] = trigger
            if resource["resourceType"] == "Patient":
                emails = [t["value"] for t in resource.get("telecom", []) if t.get("system") == "email"]
                mail["To"] = emails[0] if emails else f"{resource['id']}@clients.invalid"
                mail["Subject"] = f"Welkom bij {app['name']}"
                given = resource.get("name", [{}])[0].get("given", ["client"])[0]
                mail.set_content(f"Beste {given}, welkom. (Synthetisch testbericht.)")
            else:  # the client the Task is for (the lab does not look the address up)
                mail["To"] = resource["for"]["reference"].replace("/", "-") + "@clients.invalid"
                mail["Subject"] = f"Nieuwe taak in {app['name']}"
                mail.set_content(f"Er staat een nieuwe taak voor je klaar ({resource['id']}). (Synthetisch.)")
            outbox = self.state_dir / "outbox" / app["domain"] / app["id"]
            outbox.mkdir(parents=True, exist_ok=True)
            (outbox / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{trigger}.eml").write_bytes(bytes(mail))
            sent += 1
        return sent

    async def read_inbox(self, request: Request) -> Response:
        """Act as the application reading KT 1.3: claim and settle everything waiting for it (what a real
        application does all the time; the lab's applications do it when asked)."""
        app = self._app(request)
        if self.config["platform"] != "kt13":
            raise BadRequest("reading an inbox is a KT 1.3 operation; this host serves KT 2.0", 409, "conflict")
        return JSONResponse({"read": await run_in_threadpool(self._read_all, app)})

    def _read_all(self, app: dict[str, Any]) -> int:
        base = f"{self.config['kt13_url']}/kt13/{app['kt13_domain']}/FHIR/Koppeltaal/MessageHeader"
        read = 0
        with httpx.Client(timeout=60, auth=self._kt13_credential(app)) as http:
            while True:
                # Small batches: each is settled well within the server's claim timeout.
                claimed = http.get(f"{base}/_search", params={"_query": "MessageHeader.GetNextNewAndClaim",
                                                               "_count": 50})
                if claimed.status_code != 200:
                    raise BadRequest(f"KT 1.3 refused the read: {claimed.status_code} {claimed.text}", 502)
                entries = claimed.json().get("entry", [])
                if not entries:
                    return read
                for entry in entries:
                    message_id = entry["resource"]["entry"][0]["resource"]["id"]
                    settled = http.put(f"{base}/{message_id}/_status", json={"status": "Success"})
                    if settled.status_code == 409:  # the claim lapsed; the message is New again, read next round
                        continue
                    settled.raise_for_status()
                    read += 1

    def outbox(self, request: Request) -> Response:
        app = self._app(request)
        outbox = self.state_dir / "outbox" / app["domain"] / app["id"]
        files = sorted(outbox.glob("*.eml")) if outbox.exists() else []
        recipients = [BytesParser().parsebytes(f.read_bytes(), headersonly=True)["To"] for f in files]
        return JSONResponse({"mails": [f.name for f in files], "to": recipients})

    def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "kt2-app-service", "version": __version__,
                             "platform": self.config["platform"], "applications": len(self.apps)})


def create_app() -> Starlette:
    service = AppService(load_config())
    base = "/_contract/apps/{domain}/{app}"
    routes = [
        Route("/_contract/health", service.health),
        Route(base + "/triggers", service.triggers),
        Route(base + "/triggers/{trigger}", service.set_trigger, methods=["GET", "PUT"]),
        Route(base + "/sending", service.sending, methods=["GET", "PUT"]),
        Route(base + "/clients", service.register_client, methods=["POST"]),
        Route(base + "/outbox", service.outbox),
        Route(base + "/subscriptions", service.subscriptions, methods=["GET", "PUT"]),
        Route("/notify/{domain}/{app}", service.notify, methods=["POST"]),
        Route(base + "/inbox/read", service.read_inbox, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={BadRequest: bad_request_handler})
