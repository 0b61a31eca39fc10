"""Blocking keys in the database: a delta's candidates found by the engine's own blocking rules.

The engine scores only pairs that agree on one of its blocking rules (``engine.model.BLOCKING_RULES``:
date of birth *and* a name code, canonical forename *and* surname code *and* birth year, …). A delta's
candidates are the existing records that could form such a pair with a new record, and nothing else:
blocking on date of birth alone returned nearly the whole directory at national density (10,000 new
records → most of a million; docs/benchmarks.md, Matching).

So each current source record keeps, in :class:`~contactpoint.matching.models.BlockingKeys`, one
64-bit token per rule — a keyed hash of the rule's values as the engine prepares them
(:func:`engine.prepare_records`) — and SQL finds candidates by equality on indexed tokens. The same row
holds a token of each term-frequency adjusted name, so that how common a name is can be counted over
the whole directory rather than over the candidates (who share names with the new records by
construction, and would make every name look common).

Tokens are SipHash-2-4 under a key derived from the master key (``core.keys.derived_key``): equal
values give equal tokens, and without the key a token can't be tested against a guessed name and date
of birth. The table holds no names, dates or postcodes.

The blocking rules are code, not trained parameters: a trained model keeps the engine's rules. If the
rules change, :data:`RULE_COLUMNS` and the model must change with them, and
:func:`rebuild_all_keys` (``contactpoint matching rebuild-keys``) recomputes every record's keys.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection

from contactpoint.core.keys import derived_key
from contactpoint.core.statistics import analyze_if_grown
from contactpoint.matching.models import BlockingKeys

#: Each of the engine's blocking rules and the column of ``BlockingKeys`` holding its token.
RULE_COLUMNS: dict[str, str] = {
    "l.nhs_number = r.nhs_number": "nhs_number",
    "l.upn = r.upn": "upn",
    "l.dob = r.dob AND l.forename_dm = r.forename_dm": "dob_forename_dm",
    "l.dob = r.dob AND l.family_dm = r.family_dm": "dob_family_dm",
    "l.dob = r.dob AND l.postcode_sector = r.postcode_sector": "dob_postcode_sector",
    "l.forename_canonical = r.forename_canonical AND l.family_dm = r.family_dm AND l.dob_year = r.dob_year":
        "forename_family_dm_year",
    "l.forename_canonical = r.forename_canonical AND l.family_dm = r.family_dm"
    " AND l.dob_month = r.dob_month AND l.dob_day = r.dob_day": "forename_family_dm_day_month",
    "l.forename_canonical = r.forename_canonical AND l.dob_year = r.dob_year"
    " AND l.postcode_sector = r.postcode_sector": "forename_year_postcode_sector",
    "l.address_line_1 = r.address_line_1 AND l.postcode = r.postcode AND l.forename_initial = r.forename_initial":
        "address_postcode_initial",
}

#: Term-frequency adjusted feature columns and the column of ``BlockingKeys`` holding their token.
TF_COLUMNS: dict[str, str] = {"forename": "tf_forename", "family_name": "tf_family_name"}

KEY_COLUMNS: tuple[str, ...] = (*RULE_COLUMNS.values(), *TF_COLUMNS.values())
_SEPARATOR = "\x1f"
_TABLE = BlockingKeys._meta.db_table


def rule_features(rule: str) -> list[str]:
    """The feature columns a blocking rule equates (``l.dob = r.dob AND …`` → ``["dob", …]``)."""
    features = re.findall(r"l\.(\w+) = r\.(\w+)", rule)
    if not features or any(left != right for left, right in features):
        raise ValueError(f"not an equi-join blocking rule: {rule}")
    return [left for left, _ in features]


def blocking_hash_key() -> str:
    """pandas' SipHash takes a 16-character key: 16 base64 characters carry 96 bits of the derived key."""
    return base64.b64encode(derived_key("blocking keys")).decode("ascii")[:16]


def _strings(features: pd.DataFrame, column: str) -> pa.Array:
    values = pa.array(features[column].array, from_pandas=True)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values.cast(pa.string())
    return pc.cast(values, pa.string())


def _tokens(combined: pa.Array, hash_key: str) -> pd.Series:
    """Keyed 64-bit tokens (nullable Int64) of a string array; null stays null."""
    missing = combined.is_null().to_numpy(zero_copy_only=False)
    filled = pc.fill_null(combined, "").to_numpy(zero_copy_only=False).astype(object)
    hashed = pd.util.hash_array(filled, hash_key=hash_key, categorize=True).view(np.int64)
    return pd.Series(pd.arrays.IntegerArray(hashed, missing))


def compute_keys(features: pd.DataFrame, *, hash_key: str | None = None) -> pd.DataFrame:
    """``record_key`` and one token column per :data:`KEY_COLUMNS` for prepared features."""
    hash_key = hash_key or blocking_hash_key()
    keys = pd.DataFrame({"record_key": features["record_key"].astype("int64").to_numpy()})
    for rule, column in RULE_COLUMNS.items():
        parts = [_strings(features, name) for name in rule_features(rule)]
        # A rule's name is part of its token, so equal values of different rules never share one.
        combined = pc.binary_join_element_wise(pa.scalar(column), *parts, _SEPARATOR)
        keys[column] = _tokens(combined, hash_key)
    for feature, column in TF_COLUMNS.items():
        keys[column] = _tokens(pc.binary_join_element_wise(pa.scalar(column), _strings(features, feature), _SEPARATOR),
                               hash_key)
    return keys


def _rows(keys: pd.DataFrame) -> Iterable[tuple[Any, ...]]:
    columns = [keys["record_key"].to_numpy()] + [keys[c].astype(object).where(keys[c].notna(), None).to_numpy()
                                                 for c in KEY_COLUMNS]
    return zip(*columns, strict=True)


def _copy(table: str, keys: pd.DataFrame) -> None:
    listed = ", ".join(("record_id", *KEY_COLUMNS))
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
        for row in _rows(keys):
            copy.write_row(row)


def store_keys(keys: pd.DataFrame) -> None:
    """Replace these records' keys (new records, and records whose content changed)."""
    if not len(keys):
        return
    forget_keys([int(k) for k in keys["record_key"]])
    _copy(_TABLE, keys)
    with connection.cursor() as cursor:
        # The next feed of an initial load (same process, before autovacuum) must not plan for an empty table.
        analyze_if_grown(cursor, _TABLE, len(keys))


def forget_keys(record_ids: Sequence[int]) -> None:
    """Drop the keys of records that are no longer current (retired) or are about to be replaced."""
    if not record_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_TABLE} WHERE record_id = ANY(%s)", [list(record_ids)])


def candidate_record_ids(new_keys: pd.DataFrame) -> list[int]:
    """Current, linked records that share a blocking key with a new record, and every other current
    record of their children (the engine checks a new record against all of a child's records before
    linking it). The new records themselves are excluded.

    Each rule is one ``= ANY(array)`` on its partial index, the array being the batch's distinct
    tokens: the planner knows how many there are and probes the index (a bitmap scan). Joined to a table
    of the new keys instead, it hashed the new keys and read the whole key table once per rule: 8.8 s
    for 10,000 new records against 1.5 million, against 0.7 s this way (docs/benchmarks.md).
    """
    assert connection.in_atomic_block, "candidate selection runs inside the load's transaction"
    if not len(new_keys):
        return []
    params: dict[str, Any] = {}
    lookups = []
    for column in RULE_COLUMNS.values():
        tokens = new_keys[column].dropna().unique()
        if len(tokens):
            params[column] = [int(t) for t in tokens]
            lookups.append(f"SELECT record_id FROM {_TABLE} WHERE {column} = ANY(%({column})s::bigint[])")
    if not lookups:
        return []
    with connection.cursor() as cursor:
        # Source records are wide (a few per page): hashing the hits against a scan of the whole table,
        # which the planner prefers for a hundred thousand hits, reads it twice (15 s at 1.5 million
        # records, cold). Probing the primary key and the child index reads only the candidates' pages.
        # SET inside the load's transaction: if the query fails, the rollback undoes the settings too.
        cursor.execute("SET enable_hashjoin = off")
        cursor.execute("SET enable_mergejoin = off")
        cursor.execute(
            f"""
            WITH hits AS ({" UNION ".join(lookups)}),
            children AS (
                SELECT DISTINCT r.child_id FROM hits h JOIN feeds_sourcerecord r ON r.id = h.record_id
                WHERE r.retired_at IS NULL AND r.child_id IS NOT NULL
            )
            SELECT r.id FROM children c JOIN feeds_sourcerecord r ON r.child_id = c.child_id
            WHERE r.retired_at IS NULL
            """,
            params,
        )
        found = [row[0] for row in cursor.fetchall()]
        cursor.execute("RESET enable_hashjoin")
        cursor.execute("RESET enable_mergejoin")
    # In Python: `r.id <> ALL(array)` compares each row with every new id (quadratic in SQL).
    new = set(new_keys["record_key"].astype("int64").tolist())
    return [record for record in found if record not in new]


def directory_term_frequencies(
    new_features: pd.DataFrame, candidate_features: pd.DataFrame | None, model: dict[str, Any]
) -> dict[str, pd.DataFrame]:
    """Term-frequency lookups for the names of the new records and their candidates, counted over the
    whole directory: the stored records' tokens plus the new records (whose keys are not stored yet —
    :func:`store_keys` runs after matching, and a changed record's old keys are dropped before).

    Same formula as ``engine.term_frequency_lookups`` (smoothed towards the model's average u), so an
    initial load into an empty directory gets exactly the frequencies it had before.
    """
    from contactpoint.matching.engine.model import TF_PSEUDO_RECORDS, term_frequency_columns

    hash_key = blocking_hash_key()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {_TABLE}")
        total = cursor.fetchone()[0] + len(new_features)
    frames = [f for f in (new_features, candidate_features) if f is not None and len(f)]
    lookups: dict[str, pd.DataFrame] = {}
    for feature, average_u in term_frequency_columns(model).items():
        column = TF_COLUMNS.get(feature)
        if column is None:
            raise ValueError(f"term frequencies of {feature} are not kept in BlockingKeys")
        values = pd.concat([f[feature].astype(object) for f in frames], ignore_index=True) if frames else pd.Series()
        values = values.dropna().drop_duplicates().reset_index(drop=True)
        combined = pc.binary_join_element_wise(pa.scalar(column), pa.array(values.tolist(), pa.string()), _SEPARATOR)
        tokens = _tokens(combined, hash_key).astype("int64").to_numpy()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT t, count(*) FROM unnest(%s::bigint[]) AS t JOIN {_TABLE} k ON k.{column} = t GROUP BY t",
                [tokens.tolist()],
            )
            stored = dict(cursor.fetchall())
        in_new = new_features[feature].astype(object).value_counts(dropna=True)
        counts = pd.Series(tokens).map(stored).fillna(0).to_numpy("float64") + values.map(in_new).fillna(0).to_numpy(
            "float64"
        )
        frequency = (counts + TF_PSEUDO_RECORDS * average_u) / (total + TF_PSEUDO_RECORDS)
        lookups[feature] = pd.DataFrame({feature: values.to_numpy(dtype=object), f"tf_{feature}": frequency})
    return lookups


def refresh_keys(record_ids: Sequence[int]) -> None:
    """Recompute the keys of records whose content changed but whose link stands (not re-matched)."""
    from contactpoint.directory.identity import read_source_identities
    from contactpoint.matching import engine

    if not record_ids:
        return
    rows = read_source_identities(record_ids=record_ids)
    store_keys(compute_keys(engine.prepare_records(pd.DataFrame(rows))) if rows else pd.DataFrame())
    # Records retired meanwhile (none come back from read_source_identities) keep no keys.
    forget_keys(sorted(set(record_ids) - {row["record_key"] for row in rows}))


def rebuild_all_keys(*, chunk: int = 200_000) -> int:
    """Recompute every current record's keys (after the blocking rules or the master key changed, and
    once for records stored before keys existed). Returns the number of records keyed."""
    from contactpoint.directory.identity import read_source_identities
    from contactpoint.matching import engine

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_TABLE}")  # not TRUNCATE: refused with deferred FK checks pending
        cursor.execute("SELECT id FROM feeds_sourcerecord WHERE retired_at IS NULL ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
    hash_key = blocking_hash_key() if ids else ""
    for start in range(0, len(ids), chunk):
        rows = read_source_identities(record_ids=ids[start : start + chunk])
        _copy(_TABLE, compute_keys(engine.prepare_records(pd.DataFrame(rows)), hash_key=hash_key))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_TABLE}")
    return len(ids)
