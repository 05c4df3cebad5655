"""`kt2 programme`: positions from the audit trail, the plan (windows, holidays, clusters, capacity, the
rollback margin, the announcement lead time), the findings on dates already set, and the exports."""

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from ansible_collections.awx.awx.plugins.lookup.schedule_rrule import LookupModule
from dateutil.rrule import rrulestr
from icalendar import Calendar

from kt2ops.migration.target import migration_dir
from kt2ops.programme.export import awx_schedules, plan_ics
from kt2ops.programme.programme import ProgrammeError, load_programme
from kt2ops.runbook.state import audit_log
from tests.conftest import run
from tests.unit.test_awx import CONFIGURE

AMS = ZoneInfo("Europe/Amsterdam")
AT = datetime(2030, 11, 4, 9, 0, tzinfo=UTC)  # the lead time of 14 days ends 2030-11-18
RATE = 600  # kt2_migration_capacity of the lab's prd2


def _domain(inventory, domain_id, cluster, resources=1000, planned=None, announced=None, **migration):
    """A domain file like the lab's ggz-noorderlicht, with its own id, cluster, size and date."""
    doc = yaml.safe_load((inventory / "domains" / "ggz-noorderlicht.yml").read_text())
    doc["domain"].update(id=domain_id, name=domain_id.title(), cluster=cluster)
    doc["kt13"]["domain"] = domain_id.upper().replace("-", "")
    doc["migration"]["expected_counts"] = {"Patient": resources}
    doc["migration"].pop("planned", None)
    if planned:
        doc["migration"]["planned"] = {"start": planned, **({"announced": announced} if announced else {})}
    doc["migration"].update(migration)
    (inventory / "domains" / f"{domain_id}.yml").write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture
def programme_inventory(inventory_copy):
    """The lab inventory without its domains' dates, and without the two other domains."""
    for extra in ("ggz-groot-rivierenland", "jeugdzorg-delta"):
        (inventory_copy / "domains" / f"{extra}.yml").unlink()
    _domain(inventory_copy, "ggz-noorderlicht", "cluster-noord")
    return inventory_copy


def _ran(inventory, domain, step, artefacts=None):
    log = audit_log(inventory)
    run_id = f"{domain}-{step}-{len(list(log.records()))}"
    log.append({"type": "step.start", "run": run_id, "step": step, "domain": domain, "environment": "prd2"})
    log.append({"type": "step.end", "run": run_id, "step": step, "domain": domain, "result": "ok",
                "artefacts": artefacts or {}})


def _decide(inventory, domain, decision, value="confirmed"):
    audit_log(inventory).append({"type": "decision", "domain": domain, "decision": decision, "value": value,
                                 "by": "A. de Vries", "role": "care_provider", "reason": "test"})


def test_each_domain_shows_its_position_from_the_audit_trail(programme_inventory):
    inv = programme_inventory
    _domain(inv, "live-domain", "cluster-noord")
    _domain(inv, "trial-domain", "cluster-noord")
    for step in ("L.1", "L.2", "M.2"):
        _ran(inv, "trial-domain", step)
    trial = migration_dir(inv, "trial-domain", "mgr2")
    trial.mkdir(parents=True)
    (trial / "trial.json").write_text(json.dumps({
        "environment": "mgr2", "finished": "2030-10-01T20:00:00+00:00", "error_rate_percent": 0.1, "seconds": 42.0,
        "resources_per_second": 250.0, "expected_production_resources": 90_000,
        "estimated_production_seconds": 360.0, "estimated_production_seconds_exempt": 150.0}))
    for step in ("L.1", "L.2", "M.2", "M.5", "O", "P.3", "P.4", "P.5", "P.6", "P.2", "P.8", "Q", "Q.9", "Q.10"):
        _ran(inv, "live-domain", step)
    rows = {r["domain"]: r for r in load_programme(inv, AT).as_dict()["domains"]}

    fresh, trialled, live = rows["ggz-noorderlicht"], rows["trial-domain"], rows["live-domain"]
    assert fresh["last_done"] == "-" and fresh["next_step"].startswith("L.1 ")
    assert trialled["last_done"].startswith("M.2 ") and trialled["next_step"].startswith("M.5 ")
    assert trialled["trial"]["error_rate_percent"] == 0.1
    # The trial's production estimate with P.8L's exemption (the workflow's default), not K.3's counts.
    assert trialled["estimate"]["p8_seconds"] == 150.0 and "trial migration M.2 of 2030-10-01" in \
        trialled["estimate"]["basis"]
    assert "O.4 Trial migration succeeded, loss acceptable" in trialled["pending_decisions"]
    assert live["last_done"].startswith("Q.10 ") and live["next_step"].startswith("S.1 ")
    assert live["live_since"] is not None and live["proposed"] is None
    ended = datetime.fromisoformat(live["live_since"])
    assert live["monitoring"] == f"heightened until {ended + timedelta(days=14):%Y-%m-%d} (14 days from go-live)"
    _decide(inv, "live-domain", "Q.11", "lowered")
    assert load_programme(inv, AT).as_dict()["domains"][0]["domain"]  # still readable with the decision
    live = next(r for r in load_programme(inv, AT).as_dict()["domains"] if r["domain"] == "live-domain")
    assert live["monitoring"].startswith("lowered ") and "Q.11" in live["monitoring"]


def test_a_cluster_is_kept_in_one_window_after_the_announcement_lead_time(programme_inventory):
    inv = programme_inventory
    for n in range(2):
        _domain(inv, f"zuid-{n}", "cluster-zuid", resources=600 * 60 * 20)  # P.8 20 min each at 600/s
    plan = load_programme(inv, AT).plan
    # The third Wednesday of November 2030 is the 20th: the first window after the lead time (18th).
    first = plan.slot("ggz-noorderlicht")
    assert first.window.start == datetime(2030, 11, 20, 18, 0, tzinfo=AMS) and first.proposed
    # cluster-zuid needs 2 x 2h05 (P.8, 45 min of other steps, 60 min for rollback each), more than the 3h14 left
    # there: both go to the next window rather than one of them into the gap.
    slots = [plan.slot(f"zuid-{n}") for n in range(2)]
    assert {s.window.start for s in slots} == {datetime(2030, 12, 18, 18, 0, tzinfo=AMS)}
    assert "room for all of cluster-zuid on prd2 (2 domains, 4h10)" in slots[0].why
    starts = sorted(s.start for s in slots)
    assert starts[1] - starts[0] == timedelta(minutes=125)
    assert max(s.end for s in slots) <= slots[0].window.end


def test_a_cluster_too_large_for_one_window_is_split_and_says_so(programme_inventory):
    inv = programme_inventory
    for n in range(3):
        _domain(inv, f"oost-{n}", "cluster-oost", resources=600 * 60 * 60)  # 1 h of P.8: 2h45 each
    plan = load_programme(inv, AT).plan
    # 2h45 each (P.8, 45 min of other steps, 60 min for rollback): two do not fit one window of 5 h.
    windows = sorted(plan.slot(f"oost-{n}").window.start.date().isoformat() for n in range(3))
    assert windows == ["2030-11-20", "2030-12-18", "2031-01-15"]
    assert all("cluster-oost together needs 8h15" in plan.slot(f"oost-{n}").why for n in range(3))


def test_a_holiday_moves_the_window_the_plan_uses(programme_inventory):
    inv = programme_inventory
    prd2 = inv / "group_vars" / "prd2.yml"
    prd2.write_text(prd2.read_text().replace("nth: 3", "nth: 4"))
    at = datetime(2030, 12, 1, 9, 0, tzinfo=UTC)  # the 4th Wednesday of December 2030 is Christmas Day
    slot = load_programme(inv, at).plan.slot("ggz-noorderlicht")
    # Christmas Day and Boxing Day are public holidays: the window moves to Friday 27th.
    assert slot.window.start == datetime(2030, 12, 27, 18, 0, tzinfo=AMS)
    assert slot.window.moved_from == datetime(2030, 12, 25).date() and "Christmas Day" in slot.window.why_moved


def test_a_domain_that_fits_only_without_the_rollback_margin_is_not_placed_and_explained(programme_inventory):
    inv = programme_inventory
    _domain(inv, "groot", "cluster-west", resources=600 * 60 * 200)  # P.8 3h20: 5h05 with steps and R
    programme = load_programme(inv, AT)
    assert programme.plan.slot("groot") is None
    why = programme.plan.unplaced["groot"]
    assert why.startswith("needs 5h05 (P.8 3h20 from K.3's expected counts at 600 resources/s")
    assert "rollback R 60 min), the longest window of prd2 is 5h00" in why
    settings = inv / "group_vars" / "all.yml"
    settings.write_text(settings.read_text().replace("rollback_minutes: 60", "rollback_minutes: 50"))
    assert load_programme(inv, AT).plan.slot("groot") is not None  # 4h55: the margin was what kept it out


def test_overlapping_planned_migrations_beyond_capacity_are_findings(programme_inventory):
    inv = programme_inventory
    _domain(inv, "een", "cluster-west", planned="2030-11-20T18:00:00+01:00", announced="2030-10-01")
    _domain(inv, "twee", "cluster-west", planned="2030-11-20T18:30:00+01:00", announced="2030-10-01")
    findings = {(f.domain, f.kind): f.reason for f in load_programme(inv, AT).findings}
    assert findings[("een", "capacity")].startswith("overlaps twee on prd2 (2030-11-20 18:30-")
    assert "prd2's measured capacity is 600" in findings[("een", "capacity")]
    assert ("twee", "capacity") in findings
    # Two hours apart they do not overlap (each needs 1h46 with its steps and rollback margin).
    _domain(inv, "twee", "cluster-west", planned="2030-11-20T20:00:00+01:00", announced="2030-10-01")
    assert not [f for f in load_programme(inv, AT).findings if f.kind == "capacity"]


def test_dates_already_set_are_judged(programme_inventory):
    inv = programme_inventory
    _domain(inv, "buiten", "cluster-west", planned="2030-11-21T19:00:00+01:00", announced="2030-10-01")
    _domain(inv, "te-lang", "cluster-west", planned="2030-11-20T22:00:00+01:00", announced="2030-10-01")
    _domain(inv, "kort-dag", "cluster-west", planned="2030-11-13T18:00:00+01:00")
    findings = {(f.domain, f.kind): f.reason for f in load_programme(inv, AT).findings}
    assert findings[("buiten", "outside-window")] == (
        "planned for 2030-11-21 19:00, outside every maintenance window of prd2; the next is 2030-12-18 18:00-23:00")
    assert findings[("te-lang", "outside-window")].endswith("would end 23:46, after the window's end 23:00")
    assert findings[("buiten", "before-trial")].startswith("planned for 2030-11-21 19:00 before its trial migration")
    assert findings[("kort-dag", "decisions")] == (
        "planned for 2030-11-13 18:00, within the announcement lead time of 14 days, without its decisions: "
        "O.2, O.3, O.4 not recorded (kt2 runbook approve)")
    assert findings[("kort-dag", "announcement")] == (
        "planned for 2030-11-13 18:00 and not announced (14 days ahead are needed)")
    assert ("buiten", "decisions") not in findings  # far enough ahead: pending, not yet a finding
    for decision in ("O.2", "O.3", "O.4"):
        _decide(inv, "kort-dag", decision)
    assert ("kort-dag", "decisions") not in {(f.domain, f.kind) for f in load_programme(inv, AT).findings}


def test_plan_exports_as_ics_and_as_awx_schedules_awx_accepts(programme_inventory):
    programme = load_programme(programme_inventory, AT)
    [slot] = programme.plan.slots
    calendar = Calendar.from_ical(plan_ics(programme.plan, {"ggz-noorderlicht": "GGZ Noorderlicht"}))
    [event] = calendar.walk("VEVENT")
    assert event["dtstart"].dt == slot.start and event["dtend"].dt == slot.end
    assert str(event["summary"]) == "Migratie GGZ Noorderlicht naar prd2 (KT 1.3 -> KT 2.0)"
    [schedule] = awx_schedules(programme.plan)["kt2_awx_schedules"]
    local = slot.start.astimezone(AMS)
    # The rrule awx.awx's own lookup makes for one run at that moment, and it means that moment.
    assert schedule["rrule"] == LookupModule().get_rrule("none", {"start_date": f"{local:%Y-%m-%d %H:%M:%S}",
                                                                  "timezone": "Europe/Amsterdam"})
    assert list(rrulestr(schedule["rrule"].replace(";TZID=Europe/Amsterdam", "").replace(" RRULE", "\nRRULE"))) \
        == [local.replace(tzinfo=None)]
    assert schedule["extra_data"] == {"kt2_domain": "ggz-noorderlicht", "kt2_target": "prd2"}
    # awx/configure.yml's schedule task reads exactly what the file gives (its options: test_awx.py).
    [task] = [t for t in CONFIGURE["tasks"] if "awx.awx.schedule" in t]
    assert set(re.findall(r"item\.(\w+)", json.dumps(task["awx.awx.schedule"]))) == set(schedule)
    assert schedule["enabled"] is False  # a proposal runs nothing until someone fixes the date


def test_programme_commands_print_the_plan_and_exit_1_on_findings(programme_inventory, tmp_path):
    inv = programme_inventory
    kt2 = (".venv/bin/kt2", "programme")
    shown = run(*kt2, "-i", str(inv), "--at", "2030-11-04", "--html", str(tmp_path / "p.html"))
    assert "ggz-noorderlicht" in shown.stdout and "proposed 2030-11-20T18:00" in shown.stdout
    assert '<tr id="ggz-noorderlicht">' in (tmp_path / "p.html").read_text()
    planned = run(*kt2, "plan", "-i", str(inv), "--at", "2030-11-04", "--ics", str(tmp_path / "p.ics"),
                  "--awx", str(tmp_path / "awx.yml"))
    assert "Wed 2030-11-20 18:00-19:46 prd2 ggz-noorderlicht: proposed; first window after" in planned.stdout
    assert yaml.safe_load((tmp_path / "awx.yml").read_text())["kt2_awx_schedules"][0]["unified_job_template"] == \
        "kt2ops migration"
    assert run(*kt2, "check", "-i", str(inv), "--at", "2030-11-04").returncode == 0
    _domain(inv, "buiten", "cluster-west", planned="2030-11-21T19:00:00+01:00", announced="2030-10-01")
    failed = run(*kt2, "check", "-i", str(inv), "--at", "2030-11-04", check=False)
    assert failed.returncode == 1 and "buiten: planned for 2030-11-21 19:00, outside every maintenance window" \
        in failed.stdout
    checked = run(".venv/bin/kt2", "inventory", "check", "-i", str(inv))
    assert "programme: buiten: planned for 2030-11-21 19:00" in checked.stderr


def test_bad_programme_settings_name_the_field(programme_inventory):
    settings = programme_inventory / "group_vars" / "all.yml"
    settings.write_text(settings.read_text().replace("monitoring_days: 14", "monitoring_days: two weeks"))
    with pytest.raises(ProgrammeError, match=r"kt2_programme.monitoring_days: 'two weeks' is not a whole number >= 0"):
        load_programme(programme_inventory, AT)
