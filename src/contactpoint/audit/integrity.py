"""Tamper evidence: sealing events into an RFC 9162 Merkle tree, signing checkpoints, verifying the log.

* :func:`seal_events` gives every unsealed event, in sequence order, the next ``position`` (0, 1, 2, …
  with no gaps), its leaf hash ``SHA-256(0x00 || canonical JSON)`` and its seal (a keyed BLAKE2b MAC of
  position and leaf hash, under a key derived from the signing key).
* :func:`create_checkpoint` signs the Merkle root of all sealed events (Ed25519).
* :func:`verify_log` recomputes everything, streaming, and names the first bad event.

Why it is built this way (and what it does not protect against) is in ``docs/audit.md``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hmac
import json
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from hashlib import blake2b, sha256
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection, transaction
from django.utils import timezone

from contactpoint.audit.errors import AuditLogDamaged, CheckpointFileError, SigningKeyError
from contactpoint.audit.keys import SigningKey, key_id_for, load_signing_key
from contactpoint.audit.merkle import MerkleFrontier, leaf_hash
from contactpoint.audit.models import Checkpoint

# Names the log in every signed checkpoint, so a signature cannot be replayed as another log's.
ORIGIN = "contactpoint/audit/v1"
EXPORT_FORMAT = "contactpoint-audit-checkpoint/v1"
# pg_advisory_xact_lock key held while sealing or checkpointing: one sealer at a time. Writers of
# events never take it.
SEAL_LOCK_KEY = 0x0A0D17_5EA1
CHUNK_SIZE = 20_000
# How far back (by occurred_at) a routine seal looks for unsealed events; verify looks everywhere.
SEAL_LOOKBACK = dt.timedelta(days=1)

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
    if isinstance(details, str):  # Django asks psycopg for jsonb as text
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


# --- sealing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealResult:
    sealed: int
    tree_size: int


def _lock_sealing(cursor: Any) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])


def _seal_in_transaction(cursor: Any, key: SigningKey, chunk_size: int, full: bool) -> SealResult:
    seal_key = key.seal_key()
    sealed_at = timezone.now()
    cursor.execute("SELECT position, sealed_at FROM audit_eventseal ORDER BY position DESC LIMIT 1")
    last = cursor.fetchone()
    next_position = 0 if last is None else last[0] + 1
    first_position = next_position
    # Unsealed events are looked for among recent ones only (an event's transaction would have to run
    # for longer than SEAL_LOOKBACK to commit behind it), unless a full sweep is asked for.
    after_sequence = 0
    if not full and last is not None:
        # Start from the first event of the window (found through the occurred_at index), so a routine
        # seal never walks the whole log.
        cursor.execute(
            "SELECT sequence FROM audit_auditevent WHERE occurred_at >= %s ORDER BY occurred_at LIMIT 1",
            [last[1] - SEAL_LOOKBACK],
        )
        first = cursor.fetchone()
        if first is None:
            return SealResult(sealed=0, tree_size=next_position)
        after_sequence = first[0] - 1
    while True:
        cursor.execute(
            f"SELECT {event_select('e')} FROM audit_auditevent AS e "  # noqa: S608
            "WHERE e.sequence > %s "
            "AND NOT EXISTS (SELECT 1 FROM audit_eventseal AS s WHERE s.sequence = e.sequence) "
            "ORDER BY e.sequence LIMIT %s",
            [after_sequence, chunk_size],
        )
        rows = cursor.fetchall()
        if not rows:
            break
        # COPY is the cheapest way to insert a chunk of seals; the events themselves are not touched.
        with cursor.copy(
            "COPY audit_eventseal (position, sequence, leaf_hash, seal_mac, sealed_at) FROM STDIN"
        ) as copy:
            for row in rows:
                leaf = event_leaf_hash(row, next_position)
                copy.write_row((next_position, row[0], leaf, event_seal(seal_key, next_position, leaf), sealed_at))
                next_position += 1
        after_sequence = rows[-1][0]
    return SealResult(sealed=next_position - first_position, tree_size=next_position)


def seal_events(*, chunk_size: int = CHUNK_SIZE, full: bool = False) -> SealResult:
    """Seal every committed, unsealed event into the log, in sequence order.

    Safe to run at any time and from several processes (one seals while the others wait). Events whose
    transaction commits after a seal started are sealed by the next one. ``full`` looks for unsealed
    events in the whole log, not only among those of the last :data:`SEAL_LOOKBACK`.
    """
    key = load_signing_key()
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_sealing(cursor)
        return _seal_in_transaction(cursor, key, chunk_size, full)


# --- checkpoints -------------------------------------------------------------------------------------


def checkpoint_note(tree_size: int, root: bytes, created_at: dt.datetime, origin: str = ORIGIN) -> bytes:
    """The signed text: a C2SP tlog-checkpoint body (origin, size, base64 root) plus a time line."""
    root_b64 = base64.b64encode(root).decode("ascii")
    return f"{origin}\n{tree_size}\n{root_b64}\ntime {format_timestamp(created_at)}\n".encode()


def _signature_valid(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _trusted_frontier(checkpoint: Checkpoint, key: SigningKey) -> MerkleFrontier | None:
    """The checkpoint's saved frontier, if its signed root vouches for it (else None)."""
    try:
        frontier = MerkleFrontier.from_bytes(checkpoint.tree_size, bytes(checkpoint.frontier))
    except ValueError:
        return None
    root = bytes(checkpoint.root_hash)
    note = checkpoint_note(checkpoint.tree_size, root, checkpoint.created_at)
    if frontier.root() != root or not _signature_valid(key.public_key, bytes(checkpoint.signature), note):
        return None
    return frontier


def create_checkpoint() -> Checkpoint:
    """Seal pending events, then sign and store a checkpoint of the whole log."""
    key = load_signing_key()
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_sealing(cursor)
        sealed = _seal_in_transaction(cursor, key, CHUNK_SIZE, full=False)
        frontier = MerkleFrontier()
        previous = Checkpoint.objects.order_by("-tree_size", "-id").first()
        if previous is not None and previous.tree_size > sealed.tree_size:
            raise AuditLogDamaged(
                f"the log holds {sealed.tree_size} sealed events but checkpoint #{previous.pk} covers "
                f"{previous.tree_size}; run 'contactpoint audit verify'"
            )
        if previous is not None and previous.key_id == key.key_id:
            frontier = _trusted_frontier(previous, key) or frontier
        stream = connection.chunked_cursor()
        try:
            stream.execute(
                "SELECT position, leaf_hash FROM audit_eventseal WHERE position >= %s ORDER BY position",
                [frontier.size],
            )
            while rows := stream.fetchmany(CHUNK_SIZE):
                for position, leaf in rows:
                    if position != frontier.size:
                        raise AuditLogDamaged(
                            f"sealed positions are not contiguous at {frontier.size}; run 'contactpoint audit verify'"
                        )
                    frontier.append(bytes(leaf))
        finally:
            stream.close()
        created_at = timezone.now()
        root = frontier.root()
        return Checkpoint.objects.create(
            tree_size=frontier.size,
            root_hash=root,
            created_at=created_at,
            key_id=key.key_id,
            signature=key.sign(checkpoint_note(frontier.size, root, created_at)),
            frontier=frontier.to_bytes(),
        )


def export_checkpoint(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint as JSON for an outside party to keep, with the public key that checks it."""
    key = load_signing_key()
    if checkpoint.key_id != key.key_id:
        raise SigningKeyError(f"checkpoint {checkpoint.pk} was signed by key {checkpoint.key_id}, not this one")
    root = bytes(checkpoint.root_hash)
    return {
        "format": EXPORT_FORMAT,
        "origin": ORIGIN,
        "tree_size": checkpoint.tree_size,
        "root_hash": root.hex(),
        "timestamp": format_timestamp(checkpoint.created_at),
        "key_id": checkpoint.key_id,
        "public_key": base64.b64encode(key.public_key_raw).decode("ascii"),
        "signature": base64.b64encode(bytes(checkpoint.signature)).decode("ascii"),
        "note": checkpoint_note(checkpoint.tree_size, root, checkpoint.created_at).decode(),
    }


@dataclass(frozen=True)
class ExportedCheckpoint:
    """A checkpoint read back from a file an outside party kept."""

    label: str
    tree_size: int
    root: bytes
    created_at: dt.datetime
    origin: str
    public_key_raw: bytes
    signature: bytes

    @classmethod
    def from_file(cls, path: Path) -> ExportedCheckpoint:
        try:
            data = json.loads(path.read_text())
            if data.get("format") != EXPORT_FORMAT:
                raise CheckpointFileError(f"{path}: not a {EXPORT_FORMAT} file")
            return cls(
                label=f"exported checkpoint {path.name}",
                tree_size=int(data["tree_size"]),
                root=bytes.fromhex(data["root_hash"]),
                created_at=dt.datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00")),
                origin=str(data["origin"]),
                public_key_raw=base64.b64decode(data["public_key"]),
                signature=base64.b64decode(data["signature"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CheckpointFileError(f"{path}: cannot read checkpoint ({error})") from error


# --- verification ------------------------------------------------------------------------------------


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


@dataclass
class VerificationResult:
    events: int = 0
    unsealed: int = 0
    checkpoints: int = 0
    exported: int = 0
    root: bytes = b""
    newly_sealed: int = 0
    problem: Problem | None = None
    checkpoint_problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem is not None:
            return f"audit log verification FAILED: {self.problem}"
        sealed = f"; sealed {self.newly_sealed} new" if self.newly_sealed else ""
        return (
            f"audit log verified: {self.events} events, root {self.root.hex()[:16]}…, "
            f"{self.checkpoints} stored and {self.exported} exported checkpoint(s) match{sealed}"
        )


def _stream_sealed(chunk_size: int) -> Iterator[tuple[Any, ...]]:
    """Sealed events in position order through a server-side cursor: memory stays flat.

    Each row is the event's columns (all None if the event row is gone), then the seal's position,
    sequence, leaf hash and MAC. The next chunk is fetched on a helper thread while this one is being
    hashed, so the database and Python work at the same time (the connection is never used by both
    threads at once: the caller touches it only after the generator is closed).
    """
    cursor = connection.chunked_cursor()
    cursor.execute(
        f"SELECT {event_select('e')}, s.position, s.sequence, s.leaf_hash, s.seal_mac "  # noqa: S608
        "FROM audit_eventseal AS s LEFT JOIN audit_auditevent AS e ON e.sequence = s.sequence "
        "ORDER BY s.position"
    )
    chunks: queue.Queue[list[tuple[Any, ...]] | BaseException] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch() -> None:
        try:
            while not stop.is_set():
                rows = cursor.fetchmany(chunk_size)
                chunks.put(rows)
                if not rows:
                    return
        except BaseException as error:  # handed to the consuming thread, which raises it
            chunks.put(error)

    fetcher = threading.Thread(target=fetch, name="audit-verify-fetch", daemon=True)
    fetcher.start()
    try:
        while True:
            item = chunks.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield from item
    finally:
        stop.set()
        while fetcher.is_alive():  # unblock a fetcher waiting to put a chunk nobody will read
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.05)
        fetcher.join()
        cursor.close()


def _event_problem(
    row: tuple[Any, ...], expected: int, previous_sequence: int | None, seal_key: bytes
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


def verify_log(
    *,
    exported: Sequence[ExportedCheckpoint] = (),
    seal_afterwards: bool = True,
    chunk_size: int = CHUNK_SIZE,
) -> VerificationResult:
    """Recompute every leaf hash, seal and checkpoint root, and check exported checkpoints.

    Stops at the first bad event, in log order. When the log is sound and ``seal_afterwards`` is set,
    events recorded since the last seal are then sealed.
    """
    key = load_signing_key()
    seal_key = key.seal_key()
    result = VerificationResult(exported=len(exported))
    # Roots the log must reproduce, by tree size: every stored checkpoint whose signature holds and
    # every exported one.
    targets: dict[int, list[tuple[str, bytes]]] = {}
    stored_keys: set[str] = set()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                # One snapshot for checkpoints and events alike, even if a seal commits meanwhile.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for checkpoint in Checkpoint.objects.order_by("tree_size", "id"):
            result.checkpoints += 1
            stored_keys.add(checkpoint.key_id)
            label = f"checkpoint #{checkpoint.pk} (size {checkpoint.tree_size})"
            root = bytes(checkpoint.root_hash)
            if checkpoint.key_id != key.key_id:
                result.checkpoint_problems.append(
                    Problem(f"{label} was signed by key {checkpoint.key_id}, not the configured key {key.key_id}")
                )
                continue
            note = checkpoint_note(checkpoint.tree_size, root, checkpoint.created_at)
            if not _signature_valid(key.public_key, bytes(checkpoint.signature), note):
                result.checkpoint_problems.append(
                    Problem(f"{label}: its signature does not verify (the checkpoint was altered or forged)")
                )
                continue
            targets.setdefault(checkpoint.tree_size, []).append((label, root))
        for outside in exported:
            if outside.public_key_raw != key.public_key_raw:
                result.checkpoint_problems.append(
                    Problem(
                        f"{outside.label} was signed by key {key_id_for(outside.public_key_raw)}, "
                        f"not the configured key {key.key_id}"
                    )
                )
                continue
            note = checkpoint_note(outside.tree_size, outside.root, outside.created_at, outside.origin)
            if outside.origin != ORIGIN or not _signature_valid(key.public_key, outside.signature, note):
                result.checkpoint_problems.append(Problem(f"{outside.label}: its signature does not verify"))
                continue
            targets.setdefault(outside.tree_size, []).append((outside.label, outside.root))

        if stored_keys and key.key_id not in stored_keys:
            # Every seal would fail; say what is actually wrong instead.
            result.problem = Problem(
                f"the configured signing key ({key.key_id}) is not the key this log was signed with "
                f"({', '.join(sorted(stored_keys))}); check {key.source}"
            )
            return result
        frontier = MerkleFrontier()
        previous_sequence: int | None = None
        for row in _stream_sealed(chunk_size):
            # The fast path for a sound event; anything else goes to _event_problem for a diagnosis.
            position = row[12]
            leaf = b""
            if position == frontier.size and row[0] is not None:
                leaf = sha256(b"\x00" + canonical_event(row, position)).digest()
                if leaf != row[14] or event_seal(seal_key, position, leaf) != row[15]:
                    leaf = b""
            if not leaf:
                problem, _ = _event_problem(row, frontier.size, previous_sequence, seal_key)
                result.problem = problem or Problem("unexplained mismatch", row[13], position)
                break
            frontier.append(leaf)
            previous_sequence = row[13]
            for label, root in targets.get(frontier.size, ()):
                if frontier.root() != root:
                    result.problem = Problem(
                        f"the log's first {frontier.size} events no longer give the root in {label}",
                        row[13],
                        row[12],
                    )
                    break
            if result.problem is not None:
                break
        result.events = frontier.size
        result.root = frontier.root()
        if result.problem is None:
            longer = [(size, label) for size, found in targets.items() if size > frontier.size for label, _ in found]
            if longer:
                size, label = min(longer)
                after = f"after event {previous_sequence}" if previous_sequence is not None else "at the start"
                result.problem = Problem(
                    f"missing: the log ends at {frontier.size} events but {label} covers {size}; "
                    f"the events {after} were deleted",
                    position=frontier.size,
                )
        if result.problem is None:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM audit_auditevent AS e "
                    "WHERE NOT EXISTS (SELECT 1 FROM audit_eventseal AS s WHERE s.sequence = e.sequence)"
                )
                result.unsealed = cursor.fetchone()[0]
        if result.problem is None and result.checkpoint_problems:
            result.problem = result.checkpoint_problems[0]
    if result.ok and seal_afterwards and result.unsealed:
        result.newly_sealed = seal_events(chunk_size=chunk_size, full=True).sealed
    return result
