"""The audit log's canonical form, hashes and per-event checks: pure Python, no Django.

Kept free of Django so that verification can run in worker processes that talk to PostgreSQL
directly (see :func:`verify_range`), and so that the definition auditors rely on sits in one place.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import blake2b, sha256
from json.encoder import encode_basestring_ascii
from typing import Any

from contactpoint.audit.merkle import leaf_hash

# The event's columns in the order the queries below select them (position is added when sealed).
EVENT_COLUMNS = (
    "sequence",
    "occurred_at",
    "action",
    "outcome",
    "actor_username",
    "actor_role",
    "actor_organisation",
    "requester",
    "children",
    "client_address",
    "reason",
    "details",
)


def event_select(alias: str = "") -> str:
    """The event's columns as selected for hashing (SQL), optionally qualified with a table alias.

    The time is formatted by PostgreSQL (UTC, microseconds, ``Z``), which is exact and saves parsing
    and re-formatting a million datetimes in Python.
    """
    prefix = f"{alias}." if alias else ""
    return ", ".join(
        f"to_char({prefix}occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        if column == "occurred_at"
        else f"{prefix}details::text"
        if column == "details"
        else f"{prefix}{column}"
        for column in EVENT_COLUMNS
    )


# Python's json module with these options is the canonical form; most JSON libraries can be told to
# produce exactly the same bytes (sorted keys, no whitespace, non-ASCII as \\uXXXX escapes).
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
_string = encode_basestring_ascii  # the C function json.dumps uses for a str with ensure_ascii


def format_timestamp(value: dt.datetime) -> str:
    """UTC, always with microseconds and a ``Z``: one spelling per instant."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@functools.lru_cache(maxsize=65_536)
def _canonical_details(stored: str) -> str:
    """Canonical JSON of ``details`` as PostgreSQL returns it. Cached: most events' details are one of a
    few shapes (``{"result_count": 3}``), and parsing and re-encoding them is the dearest step."""
    return _CANONICAL_JSON.encode(json.loads(stored))


def canonical_event(row: Sequence[Any], position: int) -> bytes:
    """The bytes an event's leaf hash covers: JSON, keys sorted, no whitespace, ASCII.

    Exactly ``json.dumps(document, sort_keys=True, separators=(",", ":"))`` of the event's fields plus
    its position (see :func:`canonical_document`), so anyone holding an export can rebuild these bytes;
    written out by hand because it is the hot loop of verification (a million events).
    ``row`` holds :data:`EVENT_COLUMNS` as selected by :func:`event_select`.
    """
    occurred_at, details = row[1], row[11]
    if not isinstance(occurred_at, str):
        occurred_at = format_timestamp(occurred_at)
    if isinstance(details, str):  # selected as text (see event_select)
        details = _canonical_details(details)
    else:
        details = _CANONICAL_JSON.encode(details)
    return (
        f'{{"action":{_string(row[2])},"actor_organisation":{_string(row[6])},'
        f'"actor_role":{_string(row[5])},"actor_username":{_string(row[4])},'
        f'"children":[{",".join(map(_string, row[8]))}],"client_address":{_string(row[9])},'
        f'"details":{details},"occurred_at":{_string(occurred_at)},"outcome":{_string(row[3])},'
        f'"position":{position:d},"reason":{_string(row[10])},"requester":{_string(row[7])},'
        f'"sequence":{row[0]:d}}}'
    ).encode("ascii")


def canonical_document(row: Sequence[Any], position: int) -> dict[str, Any]:
    """The event as the JSON object its leaf hash covers (the readable definition)."""
    occurred_at, details = row[1], row[11]
    return {
        "action": row[2],
        "actor_organisation": row[6],
        "actor_role": row[5],
        "actor_username": row[4],
        "children": list(row[8]),
        "client_address": row[9],
        "details": json.loads(details) if isinstance(details, str) else details,
        "occurred_at": occurred_at if isinstance(occurred_at, str) else format_timestamp(occurred_at),
        "outcome": row[3],
        "position": position,
        "reason": row[10],
        "requester": row[7],
        "sequence": row[0],
    }


def event_leaf_hash(row: Sequence[Any], position: int) -> bytes:
    return leaf_hash(canonical_event(row, position))


@functools.lru_cache(maxsize=4)
def _seal_base(seal_key: bytes) -> Any:
    return blake2b(key=seal_key, digest_size=32)


def event_seal(seal_key: bytes, position: int, leaf: bytes) -> bytes:
    """Keyed BLAKE2b-256 of position and leaf hash: a MAC by design, and cheaper than HMAC-SHA256 in
    the hot loop (the keyed state is built once per key and copied)."""
    state = _seal_base(seal_key).copy()
    state.update(position.to_bytes(8, "big") + leaf)
    return bytes(state.digest())


@dataclass(frozen=True)
class Problem:
    """The first thing found wrong, with the event it concerns where there is one."""

    message: str
    sequence: int | None = None
    position: int | None = None

    def __str__(self) -> str:
        where = []
        if self.sequence is not None:
            where.append(f"event {self.sequence}")
        if self.position is not None:
            where.append(f"position {self.position}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


def event_problem(
    row: Sequence[Any], expected: int, previous_sequence: int | None, seal_key: bytes
) -> tuple[Problem | None, bytes]:
    position, sequence, stored_leaf, stored_seal = row[12], row[13], row[14], row[15]
    if position > expected:
        after = f"after event {previous_sequence}" if previous_sequence is not None else "at the start"
        missing = position - expected
        return (
            Problem(
                f"missing: {missing} sealed event(s) {after} were deleted with their seals (the next "
                f"surviving event is {sequence} at position {position})",
                position=expected,
            ),
            b"",
        )
    if position < expected:
        return Problem("appears twice in the log (a forged copy)", sequence, position), b""
    if row[0] is None:
        return Problem("deleted: the event sealed at this position is gone", sequence, position), b""
    leaf = event_leaf_hash(row, position)
    if not hmac.compare_digest(bytes(stored_leaf), leaf):
        return (
            Problem("altered or moved: its content or position no longer matches its leaf hash", sequence, position),
            leaf,
        )
    if not hmac.compare_digest(bytes(stored_seal), event_seal(seal_key, position, leaf)):
        return (
            Problem(
                "its seal is not valid: the event was forged, moved or rewritten with a recomputed hash",
                sequence,
                position,
            ),
            leaf,
        )
    return None, leaf


# Sealed events in log order, each joined to its event (whose columns are NULL if the row is gone).
SEALED_EVENTS_SQL = (
    "SELECT {columns}, s.position, s.sequence, s.leaf_hash, s.seal_mac "
    "FROM audit_eventseal AS s LEFT JOIN audit_auditevent AS e ON e.sequence = s.sequence "
    "WHERE s.position >= %s AND s.position < %s ORDER BY s.position"
).format(columns=event_select("e"))


@dataclass
class RowsChecked:
    """What checking a run of sealed events found: their leaf hashes, up to the first problem if any."""

    leaves: list[bytes]
    problem: Problem | None
    previous_sequence: int | None


def check_rows(
    rows: Iterable[Sequence[Any]], expected: int, previous_sequence: int | None, seal_key: bytes
) -> RowsChecked:
    """Check rows of :data:`SEALED_EVENTS_SQL` that should start at position ``expected``."""
    leaves: list[bytes] = []
    for row in rows:
        # The fast path for a sound event; anything else goes to event_problem for a diagnosis.
        position = row[12]
        if position == expected and row[0] is not None:
            leaf = sha256(b"\x00" + canonical_event(row, position)).digest()
            if leaf == row[14] and event_seal(seal_key, position, leaf) == row[15]:
                leaves.append(leaf)
                previous_sequence = row[13]
                expected += 1
                continue
        problem, _ = event_problem(row, expected, previous_sequence, seal_key)
        return RowsChecked(leaves, problem or Problem("unexplained mismatch", row[13], position), previous_sequence)
    return RowsChecked(leaves, None, previous_sequence)


@dataclass(frozen=True)
class RangeResult:
    leaves: bytes  # concatenated 32-byte leaf hashes, in position order
    problem: Problem | None


def verify_range(conninfo: dict[str, Any], start: int, stop: int, seal_key: bytes) -> RangeResult:
    """Check sealed positions ``start`` to ``stop`` (exclusive) over a connection of its own.

    Run in a worker process. Safe to combine with the caller's view of the log although each worker
    reads its own snapshot: seals and events are insert-only, so positions below the caller's tree size
    read the same in every snapshot (unless someone is tampering right now, which verification would
    then report as what it is).
    """
    import psycopg  # a worker process imports what it needs, and nothing of Django

    with psycopg.connect(**conninfo) as connection:
        previous_sequence = None
        if start > 0:
            found = connection.execute("SELECT sequence FROM audit_eventseal WHERE position = %s", [start - 1])
            row = found.fetchone()
            previous_sequence = row[0] if row else None
        leaves: list[bytes] = []
        expected = start
        with connection.cursor(name="audit_verify_range") as cursor:
            cursor.execute(SEALED_EVENTS_SQL, [start, stop])
            while rows := cursor.fetchmany(10_000):
                checked = check_rows(rows, expected, previous_sequence, seal_key)
                leaves += checked.leaves
                expected += len(checked.leaves)
                previous_sequence = checked.previous_sequence
                if checked.problem is not None:
                    return RangeResult(b"".join(leaves), checked.problem)
        if expected < stop:  # positions missing at the end of the range
            after = f"after event {previous_sequence}" if previous_sequence is not None else "at the start"
            problem = Problem(f"missing: sealed event(s) {after} were deleted with their seals", position=expected)
            return RangeResult(b"".join(leaves), problem)
        return RangeResult(b"".join(leaves), None)
