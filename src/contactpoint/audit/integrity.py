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
import collections
import contextlib
import datetime as dt
import itertools
import json
import multiprocessing
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection, transaction
from django.utils import timezone

from contactpoint.audit.canonical import (
    SEALED_EVENTS_SQL,
    Problem,
    check_rows,
    event_leaf_hash,
    event_seal,
    event_select,
    format_timestamp,
    verify_range,
)
from contactpoint.audit.errors import AuditLogDamaged, CheckpointFileError, SigningKeyError
from contactpoint.audit.keys import SigningKey, key_id_for, load_signing_key
from contactpoint.audit.merkle import HASH_SIZE, MerkleFrontier
from contactpoint.audit.models import Checkpoint, EventSeal

# Names the log in every signed checkpoint, so a signature cannot be replayed as another log's.
ORIGIN = "contactpoint/audit/v1"
EXPORT_FORMAT = "contactpoint-audit-checkpoint/v1"
# pg_advisory_xact_lock key held while sealing or checkpointing: one sealer at a time. Writers of
# events never take it.
SEAL_LOCK_KEY = 0x0A0D17_5EA1
CHUNK_SIZE = 20_000
# Logs at least this long are verified by several processes, in ranges of this many positions.
PARALLEL_MIN_EVENTS = 200_000
PARALLEL_RANGE_SIZE = 50_000
# How far back (by occurred_at) a routine seal looks for unsealed events; verify looks everywhere.
SEAL_LOOKBACK = dt.timedelta(days=1)

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


def _stream_chunks(tree_size: int, chunk_size: int) -> Iterator[list[tuple[Any, ...]]]:
    """Chunks of :data:`SEALED_EVENTS_SQL` rows through a server-side cursor: memory stays flat.

    The next chunk is fetched on a helper thread while this one is being hashed, so the database and
    Python work at the same time (the connection is never used by both threads at once: the caller
    touches it only after the generator is closed).
    """
    cursor = connection.chunked_cursor()
    cursor.execute(SEALED_EVENTS_SQL, [0, tree_size])
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
            yield item
    finally:
        stop.set()
        while fetcher.is_alive():  # unblock a fetcher waiting to put a chunk nobody will read
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.05)
        fetcher.join()
        cursor.close()


Run = tuple[Sequence[bytes], Problem | None]


def _checked_serially(tree_size: int, seal_key: bytes, chunk_size: int) -> Iterator[Run]:
    expected, previous_sequence = 0, None
    for rows in _stream_chunks(tree_size, chunk_size):
        checked = check_rows(rows, expected, previous_sequence, seal_key)
        expected += len(checked.leaves)
        previous_sequence = checked.previous_sequence
        yield checked.leaves, checked.problem
        if checked.problem is not None:
            return


def _worker_conninfo() -> dict[str, Any]:
    """How a worker process reaches the database this connection uses (test databases included)."""
    settings = connection.settings_dict
    info: dict[str, Any] = {"dbname": settings["NAME"]}
    for setting, name in (("USER", "user"), ("PASSWORD", "password"), ("HOST", "host"), ("PORT", "port")):
        if settings.get(setting):
            info[name] = str(settings[setting])
    django_only = {"isolation_level", "server_side_binding", "pool", "assume_role", "cursor_factory", "context"}
    for name, value in (settings.get("OPTIONS") or {}).items():
        if name not in django_only and isinstance(value, str | int):
            info[name] = value
    return info


def _checked_in_parallel(tree_size: int, seal_key: bytes, workers: int, range_size: int) -> Iterator[Run]:
    """Ranges of positions checked by worker processes, results taken in log order."""
    conninfo = _worker_conninfo()
    ranges = iter([(start, min(start + range_size, tree_size)) for start in range(0, tree_size, range_size)])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        pending = collections.deque(
            pool.submit(verify_range, conninfo, start, stop, seal_key)
            for start, stop in itertools.islice(ranges, workers * 2)
        )
        while pending:
            checked = pending.popleft().result()
            following = next(ranges, None)
            if following is not None:
                pending.append(pool.submit(verify_range, conninfo, *following, seal_key))
            leaves = checked.leaves
            yield [leaves[i : i + HASH_SIZE] for i in range(0, len(leaves), HASH_SIZE)], checked.problem
            if checked.problem is not None:
                return
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def verify_log(
    *,
    exported: Sequence[ExportedCheckpoint] = (),
    seal_afterwards: bool = True,
    chunk_size: int = CHUNK_SIZE,
    workers: int | None = None,
    range_size: int = PARALLEL_RANGE_SIZE,
) -> VerificationResult:
    """Recompute every leaf hash, seal and checkpoint root, and check exported checkpoints.

    Stops at the first bad event, in log order. When the log is sound and ``seal_afterwards`` is set,
    events recorded since the last seal are then sealed. A large log is checked by ``workers`` processes
    (default: one per CPU, at most 4), ``range_size`` positions at a time.
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
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(position) + 1, 0) FROM audit_eventseal")
            tree_size = cursor.fetchone()[0]
        workers = min(os.cpu_count() or 1, 4) if workers is None else workers
        if workers > 1 and outermost and tree_size >= PARALLEL_MIN_EVENTS:
            runs = _checked_in_parallel(tree_size, seal_key, workers, range_size)
        else:
            # Serially when the log is small, or inside a caller's transaction (whose uncommitted
            # rows other connections could not see).
            runs = _checked_serially(tree_size, seal_key, chunk_size)
        frontier = MerkleFrontier()
        try:
            for leaves, problem in runs:
                for leaf in leaves:
                    frontier.append(leaf)
                    for label, root in targets.get(frontier.size, ()):
                        if result.problem is None and frontier.root() != root:
                            result.problem = Problem(
                                f"the log's first {frontier.size} events no longer give the root in {label}",
                                position=frontier.size - 1,
                            )
                    if result.problem is not None:
                        break
                if result.problem is None:
                    result.problem = problem
                if result.problem is not None:
                    break
        finally:
            close = getattr(runs, "close", None)
            if close is not None:
                close()
        result.events = frontier.size
        result.root = frontier.root()
        if result.problem is None:
            longer = [(size, label) for size, found in targets.items() if size > frontier.size for label, _ in found]
            if longer:
                size, label = min(longer)
                last = EventSeal.objects.filter(position=frontier.size - 1).values_list("event_id", flat=True).first()
                after = f"after event {last}" if last is not None else "at the start"
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
