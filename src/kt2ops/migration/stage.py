"""Staging: a domain's KT 1.3 export folded into the latest state of every resource, in SQLite on the
control machine, so that validation and the migration hold at most one batch in memory.

One pass over the export checks each message against the specification and folds it in (a newer
message about a resource replaces the older one; a care plan's activities become tasks; status
updates are kept apart and the newest one wins). Then SQL finds what only the whole can show:
references that do not resolve, identities used twice, and what falls outside the domain's migration
scope (K.1 open dossiers, K.2 months of history)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from kt2ops.migration.checks import CLOSED_STATUSES, check_resource, reference_id
from kt2ops.migration.source import EVENT_RESOURCE, ExportLineError, Message, read_export

SCHEMA = """
CREATE TABLE resources (type TEXT, source_id TEXT, body TEXT, patient TEXT, sender TEXT, last_seen TEXT,
                        message_id TEXT, line INTEGER, in_scope INTEGER DEFAULT 1, PRIMARY KEY (type, source_id));
CREATE TABLE activities (source_id TEXT PRIMARY KEY, careplan TEXT, patient TEXT, definition TEXT,
                         practitioner TEXT, performer TEXT, status TEXT, period TEXT, seq INTEGER, sender TEXT,
                         last_seen TEXT, message_id TEXT, line INTEGER, in_scope INTEGER DEFAULT 0);
CREATE TABLE careplans (source_id TEXT PRIMARY KEY, patient TEXT, practitioner TEXT, message_id TEXT, line INTEGER);
CREATE TABLE status_updates (activity TEXT, status TEXT, seq INTEGER, last_seen TEXT, message_id TEXT, line INTEGER);
CREATE TABLE message_ids (id TEXT PRIMARY KEY, line INTEGER);
CREATE TABLE findings (blocking INTEGER, code TEXT, message_id TEXT, line INTEGER, text TEXT);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE excluded (type TEXT, source_id TEXT, reason TEXT, PRIMARY KEY (type, source_id));
-- Every lookup of one row by another's column has its index: without them, staging a large domain is quadratic.
CREATE INDEX resources_by_patient ON resources (type, patient);
CREATE INDEX activities_by_careplan ON activities (careplan);
CREATE INDEX activities_by_patient ON activities (patient);
CREATE INDEX activities_by_practitioner ON activities (practitioner);
CREATE INDEX activities_by_definition ON activities (definition);
CREATE INDEX status_updates_by_activity ON status_updates (activity, seq);
"""
# The order of publication: what a resource references is published before it.
CLIENT_GROUP = "urn:kt2ops:client-group"
TYPES_IN_ORDER = ("Practitioner", "Patient", "RelatedPerson", "CareTeam", "ActivityDefinition", "Task")


def months_before(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.month - 1 - months, 12)
    day = min(moment.day, 28)
    return moment.replace(year=moment.year + year, month=month + 1, day=day)


class Staging:
    """The staged export of one domain (a SQLite file); build with `Staging.build`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.row_factory = sqlite3.Row

    @classmethod
    def build(cls, export: Path, path: Path, scope: dict[str, Any], reference: datetime) -> Staging:
        """Stage `export` into a new file at `path` (replacing one left by an interrupted run)."""
        path.unlink(missing_ok=True)
        staging = cls(path)
        staging.db.executescript(SCHEMA)
        with staging.db:
            staging._load(read_export(export), reference.date())
            staging._check_references()
            staging._check_identities()
            staging._apply_scope(scope, reference)
            staging.db.execute("INSERT INTO meta VALUES ('reference', ?)", (reference.isoformat(),))
        return staging

    # --- one pass over the export ------------------------------------------------------------------

    def finding(self, blocking: bool, code: str, text: str, message_id: str | None = None,
                line: int | None = None) -> None:
        self.db.execute("INSERT INTO findings VALUES (?, ?, ?, ?, ?)", (int(blocking), code, message_id, line, text))

    def _load(self, messages: Iterator[Message | ExportLineError], today: date) -> None:
        for item in messages:
            if isinstance(item, ExportLineError):
                self.finding(True, "structure", item.reason, item.message_id, item.line)
                continue
            if not self.db.execute("INSERT OR IGNORE INTO message_ids VALUES (?, ?)", (item.id, item.line)).rowcount:
                self.finding(True, "duplicate-message", f"message id {item.id} occurs twice", item.id, item.line)
                continue
            kind = EVENT_RESOURCE[item.event]
            if kind is None:
                self.finding(False, "not-migrated", f"{item.event}: not migrated to KT 2.0 (migration guide)",
                              item.id, item.line)
                continue
            problems = check_resource(item.resource, kind, today)
            if problems:
                for problem in problems:
                    self.finding(True, "specification", f"{kind}.{problem}", item.id, item.line)
                continue
            if item.status == "MaximumRetriesExceeded":
                self.finding(False, "never-processed", f"{item.event} was never processed by a reader "
                              "(MaximumRetriesExceeded); its content is migrated as sent", item.id, item.line)
            if item.timestamp > (datetime.now(UTC) + timedelta(days=1)).isoformat():
                self.finding(False, "date-implausible", f"MessageHeader.timestamp {item.timestamp} lies in the "
                              "future", item.id, item.line)
            self._fold(kind, item)

    def _fold(self, kind: str, item: Message) -> None:
        resource = item.resource
        common = (item.sender, item.timestamp, item.id, item.line)
        if kind == "CarePlan":
            patient = reference_id(resource["patient"], "Patient")
            practitioner = next((reference_id(m, "Practitioner") for m in resource.get("careTeam") or []), None)
            self.db.execute("INSERT OR REPLACE INTO careplans VALUES (?, ?, ?, ?, ?)",
                            (resource["id"], patient, practitioner, item.id, item.line))
            self.db.execute("DELETE FROM activities WHERE careplan = ?", (resource["id"],))
            self.db.executemany(
                "INSERT OR REPLACE INTO activities (source_id, careplan, patient, definition, practitioner, performer, "
                "status, period, seq, sender, last_seen, message_id, line) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(a["id"], resource["id"], patient, reference_id(a["definition"], "ActivityDefinition"), practitioner,
                  (a.get("performer") or {}).get("reference"), a["status"],
                  orjson.dumps(a["period"]).decode() if "period" in a else None, item.seq, *common)
                 for a in resource["activity"]])
        elif kind == "CarePlanActivityStatus":
            self.db.execute("INSERT INTO status_updates VALUES (?, ?, ?, ?, ?, ?)",
                            (resource["activity"], resource["activityStatus"], item.seq, item.timestamp, item.id,
                             item.line))
        else:
            patient = reference_id(resource.get("patient") or resource.get("subject"), "Patient") \
                if kind != "Patient" else resource["id"]
            self.db.execute("INSERT OR REPLACE INTO resources (type, source_id, body, patient, sender, last_seen, "
                            "message_id, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (kind, resource["id"], orjson.dumps(resource).decode(), patient, *common))

    # --- what only the whole export shows ----------------------------------------------------------

    def _check_references(self) -> None:
        # The newest status update of each activity sets its status (when newer than its care plan).
        self.db.execute("""UPDATE activities SET status = u.status, last_seen = max(activities.last_seen, u.last_seen)
            FROM (SELECT activity, status, seq, last_seen FROM status_updates s WHERE seq = (
                  SELECT max(seq) FROM status_updates WHERE activity = s.activity)) u
            WHERE u.activity = activities.source_id AND u.seq > activities.seq""")
        missing = """SELECT {what}, {column} AS missing, message_id, line FROM {table} t
                     WHERE {column} IS NOT NULL AND NOT EXISTS (
                     SELECT 1 FROM resources r WHERE r.type = '{target}' AND r.source_id = t.{column})"""
        for table, column, target, what in (
                ("resources", "patient", "Patient", "type || ' ' || source_id"),
                ("careplans", "patient", "Patient", "'CarePlan ' || source_id"),
                ("careplans", "practitioner", "Practitioner", "'CarePlan ' || source_id"),
                ("activities", "definition", "ActivityDefinition", "'activity ' || source_id")):
            query = missing.format(table=table, column=column, target=target, what=what)
            for row in self.db.execute(query + (" AND type <> 'Patient'" if table == "resources" else "")).fetchall():
                self.finding(True, "reference", f"{row[0]}: {target}/{row['missing']} "
                              "does not resolve in the export", row["message_id"], row["line"])
        # References that may name one of several types: a care team's members, an activity's performer.
        for row in self.db.execute("""SELECT what, ref, message_id, line FROM (
                SELECT 'CareTeam ' || r.source_id AS what, json_extract(p.value, '$.member.reference') AS ref,
                       r.message_id, r.line FROM resources r, json_each(r.body, '$.participant') p
                WHERE r.type = 'CareTeam'
                UNION ALL SELECT 'activity ' || source_id, performer, message_id, line FROM activities
                WHERE performer IS NOT NULL)
            WHERE NOT EXISTS (SELECT 1 FROM resources t WHERE t.type = substr(ref, 1, instr(ref, '/') - 1)
                              AND t.source_id = substr(ref, instr(ref, '/') + 1))""").fetchall():
            self.finding(True, "reference", f"{row['what']}: {row['ref']} does not resolve in the export",
                          row["message_id"], row["line"])
        for row in self.db.execute("""SELECT activity, message_id, line FROM status_updates s WHERE NOT EXISTS (
                                      SELECT 1 FROM activities a WHERE a.source_id = s.activity)""").fetchall():
            self.finding(True, "reference", f"status update of activity {row['activity']}, which no care plan "
                          "in the export has", row["message_id"], row["line"])

    def _check_identities(self) -> None:
        rows = self.db.execute("""SELECT r.type AS type, json_extract(i.value, '$.system') AS system,
                                  json_extract(i.value, '$.value') AS value, group_concat(r.source_id, ', ') AS ids,
                                  min(r.message_id) AS message_id, min(r.line) AS line
                                  FROM resources r, json_each(r.body, '$.identifier') i
                                  GROUP BY r.type, system, value HAVING count(DISTINCT r.source_id) > 1""").fetchall()
        for row in rows:
            self.finding(True, "duplicate-identity", f"{row['type']} identifier {row['system']}|{row['value']} "
                          f"belongs to more than one resource: {row['ids']}", row["message_id"], row["line"])

    def _apply_scope(self, scope: dict[str, Any], reference: datetime) -> None:
        """K.1 and K.2: mark what is out of scope (reported, not migrated). A client group's history
        (Patient.meta.tag of system CLIENT_GROUP) counts for its clients and their tasks when longer; what
        an in-scope resource references stays in scope so that references remain valid."""
        history = scope["history_months"]

        def cutoff(kind: str, months: int | None = None) -> str:
            if months is None:
                months = history.get("per_resource", {}).get(kind, history["default"])
            return months_before(reference, months).isoformat()

        in_group = """EXISTS (SELECT 1 FROM resources g, json_each(g.body, '$.meta.tag') t WHERE g.type = 'Patient'
                      AND g.source_id = {patient} AND json_extract(t.value, '$.system') = ?
                      AND json_extract(t.value, '$.code') = ?)"""
        self.db.execute("UPDATE resources SET in_scope = 0 WHERE type = 'Patient' AND last_seen < ?",
                        (cutoff("Patient"),))
        self.db.execute("UPDATE activities SET in_scope = 1 WHERE last_seen >= ?", (cutoff("Task"),))
        for group, months in history.get("per_client_group", {}).items():
            self.db.execute(f"UPDATE resources SET in_scope = 1 WHERE type = 'Patient' AND last_seen >= ? AND "
                            f"{in_group.format(patient='resources.source_id')}", (cutoff("Patient", months),
                                                                                  CLIENT_GROUP, group))
            self.db.execute(f"UPDATE activities SET in_scope = 1 WHERE last_seen >= ? AND "
                            f"{in_group.format(patient='activities.patient')}", (cutoff("Task", months),
                                                                                 CLIENT_GROUP, group))
        if scope["dossiers"] == "open_only":  # a dossier is closed when all its activities are
            closed = ",".join(f"'{s}'" for s in sorted(CLOSED_STATUSES))
            self.db.execute(f"""UPDATE resources SET in_scope = 0 WHERE type = 'Patient' AND EXISTS (
                SELECT 1 FROM activities a WHERE a.patient = resources.source_id) AND NOT EXISTS (
                SELECT 1 FROM activities a WHERE a.patient = resources.source_id AND a.status NOT IN ({closed}))""")
        patient_in_scope = "EXISTS (SELECT 1 FROM resources p WHERE p.type = 'Patient' AND p.source_id = {} " \
                           "AND p.in_scope)"
        self.db.execute(f"UPDATE activities SET in_scope = 0 WHERE NOT {patient_in_scope.format('activities.patient')}")
        for kind in ("RelatedPerson", "CareTeam"):
            self.db.execute(f"""UPDATE resources SET in_scope = 0 WHERE type = ? AND (last_seen < ? OR
                                (patient IS NOT NULL AND NOT {patient_in_scope.format('resources.patient')}))""",
                            (kind, cutoff(kind)))
        for kind, column in (("Practitioner", "practitioner"), ("ActivityDefinition", "definition")):
            self.db.execute(f"""UPDATE resources SET in_scope = 0 WHERE type = ? AND last_seen < ? AND NOT EXISTS (
                                SELECT 1 FROM activities a WHERE a.in_scope AND a.{column} = resources.source_id)""",
                            (kind, cutoff(kind)))
        for kind, count in self.out_of_scope().items():
            self.finding(False, "out-of-scope", f"{count} {kind} outside the migration scope (K.1 "
                          f"{scope['dossiers']}, K.2 history): not migrated")

    # --- reading -------------------------------------------------------------------------------------

    def out_of_scope(self) -> dict[str, int]:
        counts = dict(self.db.execute("SELECT type, count(*) FROM resources WHERE NOT in_scope GROUP BY type"))
        tasks = self.db.execute("SELECT count(*) FROM activities WHERE NOT in_scope").fetchone()[0]
        return {**counts, **({"Task": tasks} if tasks else {})}

    def in_scope_counts(self) -> dict[str, int]:
        counts = dict(self.db.execute("SELECT type, count(*) FROM resources WHERE in_scope GROUP BY type"))
        counts["Task"] = self.db.execute("SELECT count(*) FROM activities WHERE in_scope").fetchone()[0]
        return {kind: counts.get(kind, 0) for kind in TYPES_IN_ORDER}

    def findings(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM findings ORDER BY blocking DESC, line, code").fetchall()
        return [{"severity": "blocking" if r["blocking"] else "non-blocking", "code": r["code"],
                 "message_id": r["message_id"], "line": r["line"], "text": r["text"]} for r in rows]

    def exclude(self, kind: str, source_id: str, reason: str) -> None:
        """Leave an in-scope resource out of the migration, into its error list (a non-blocking finding)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO excluded VALUES (?, ?, ?)", (kind, source_id, reason))

    def excluded(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM excluded ORDER BY type, source_id").fetchall()

    def _in_scope(self, kind: str, sender: str | None) -> tuple[str, tuple[str, ...]]:
        """FROM and WHERE of a type's in-scope rows, of one application when `sender` is given."""
        table, args = ("activities", ()) if kind == "Task" else ("resources", (kind,))
        where = "in_scope" + ("" if kind == "Task" else " AND type = ?")
        if sender is not None:
            where, args = where + " AND sender = ?", (*args, sender)
        return f"{table} WHERE {where}", args

    def staged(self, kind: str, sender: str | None = None) -> Iterator[sqlite3.Row]:
        """In-scope rows of one type (of one application), in a stable order (a resumed run sees the same)."""
        rows, args = self._in_scope(kind, sender)
        return self.db.execute(f"SELECT * FROM {rows} ORDER BY source_id", args)

    def count(self, kind: str, sender: str | None = None) -> int:
        rows, args = self._in_scope(kind, sender)
        return self.db.execute(f"SELECT count(*) FROM {rows}", args).fetchone()[0]

    def by_sender(self, kind: str) -> dict[str, tuple[int, int]]:
        """Per application that sent in-scope resources of the type: how many, and the first export line."""
        rows, args = self._in_scope(kind, None)
        return {r[0]: (r[1], r[2]) for r in self.db.execute(
            f"SELECT sender, count(*), min(line) FROM {rows} GROUP BY sender", args)}

    def senders(self) -> set[str]:
        """The applications that sent in-scope resources."""
        return {sender for kind in TYPES_IN_ORDER for sender in self.by_sender(kind)}

    def close(self) -> None:
        self.db.close()

