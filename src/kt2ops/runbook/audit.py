"""The runbook's audit trail: an append-only JSON-lines file whose records are hash-chained.

Each record carries `seq` (1, 2, ...), `prev` (the previous record's hash) and `hash` (SHA-256 of the
record's canonical JSON without `hash`). Changing, removing or reordering a record breaks the chain at
that record, and `verify` names it. A head file beside the log holds the last seq and hash, so that
cutting records off the end shows too. Appends take an exclusive lock: two steps never interleave.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kt2ops.errors import Kt2OpsError

GENESIS = "0" * 64
SECRET_NAME = re.compile(r"pass(word|phrase)?|secret|token|private|(^|_)key($|_)|identity|credential", re.I)
REDACTED = "<redacted>"


class AuditError(Kt2OpsError, RuntimeError):
    """The audit trail cannot be read or written; the message names the file."""


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def without_secrets(value: Any) -> Any:
    """A copy of `value` with every field whose name suggests a secret replaced by a marker."""
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_NAME.search(str(k)) else without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


def operator(awx_user: str | None = None) -> str:
    """Who runs this: KT2OPS_OPERATOR when set (a named person on a shared account), else the AWX user who
    launched the job (AWX's extra variable awx_user_name), else user@host."""
    if named := os.environ.get("KT2OPS_OPERATOR"):
        return named
    return f"{awx_user} (AWX)" if awx_user else f"{getpass.getuser()}@{socket.gethostname()}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Break:
    """Where the chain is broken: the line and seq of the first record that does not fit, and why."""

    line: int
    seq: int | None
    reason: str

    def __str__(self) -> str:
        return f"line {self.line} (seq {self.seq}): {self.reason}"


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Chain `record` (secrets removed) onto the log and write it; returns it as written."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self.path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            last = None
            for line in handle:
                if line.strip():
                    last = line
            previous = json.loads(last) if last else {"seq": 0, "hash": GENESIS}
            entry = {"seq": previous["seq"] + 1, "prev": previous["hash"], "at": now(),
                     **without_secrets(record)}
            entry["hash"] = record_hash(entry)
            handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            tmp = self.head_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"seq": entry["seq"], "hash": entry["hash"]}) + "\n")
            os.replace(tmp, self.head_path)
        return entry

    def records(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError as exc:
                        raise AuditError(f"{self.path}:{number}: not a JSON record") from exc

    def verify(self) -> tuple[int, list[Break]]:
        """Check the whole chain; returns the number of records and every break found."""
        breaks: list[Break] = []
        expected_prev, expected_seq, count = GENESIS, 1, 0
        if not self.path.exists():
            return 0, breaks
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                count += 1
                try:
                    record = json.loads(line)
                except ValueError:
                    breaks.append(Break(number, None, "not a JSON record"))
                    continue
                seq = record.get("seq")
                if record.get("hash") != record_hash(record):
                    breaks.append(Break(number, seq, "content changed: the hash does not match the record"))
                if seq != expected_seq:
                    breaks.append(Break(number, seq, f"expected seq {expected_seq}: a record was removed, "
                                                     "added or moved before this one"))
                elif record.get("prev") != expected_prev:
                    breaks.append(Break(number, seq, "prev does not match the record before it (reordered?)"))
                expected_prev, expected_seq = record.get("hash"), (seq or 0) + 1
        head = json.loads(self.head_path.read_text()) if self.head_path.exists() else None
        if head and (head["seq"] != expected_seq - 1 or head["hash"] != expected_prev):
            breaks.append(Break(count, expected_seq - 1, f"the log ends before the last record written "
                                                          f"(seq {head['seq']}): records were cut off the end"))
        return count, breaks
