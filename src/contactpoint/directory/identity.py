"""The one module that reads and writes a child's identifying fields, and the only one that unseals them.

Identifying fields are names, address, postcode and national identifiers (and carers' names and contact
details). They are stored **only sealed**: one AES-256-GCM blob per row (:mod:`contactpoint.core.sealing`)
under the data key of the row's owner, kept in the key store (:mod:`contactpoint.keystore.datakeys`):

* ``directory_child`` (the golden record), ``directory_childname``, ``directory_childaddress``: the
  child's key;
* ``feeds_sourcerecord`` (with the carer and involvement it reports) and ``directory_carer``: the source
  record's own key, so that a merge, split or undo moves a record between children without re-encrypting.

Erasing a child destroys its key and its records' keys, which makes every copy of these rows unreadable,
backups included (docs/retention.md, decision 5). Date of birth, sex, local authority and retention
condition stay clear. Plaintext exists only in this process's memory and in ``TEMPORARY`` tables that
are dropped at commit (never written to the write-ahead log, never in a backup). Everything else —
pages, API, matching, search — asks this module for the fields.

Survivorship rules (how the golden record is chosen from a child's linked, current source records;
also in docs/matching.md):

* **Name** (given and family name together, from one record, so that names are never mixed): the
  record from the most trusted source; among equals the most recently updated; then the most complete.
* **Date of birth, sex, NHS number, UPN**: each field separately, the non-blank value from the most
  trusted source, then the most recent. Sex ``U`` counts as blank.
* **Address** (all lines and postcode together): the most recently updated record that has a postcode,
  then by trust — people move, and the newest report of an address is the likeliest to be right.
* Every other name and address any linked record carries (including ``former_family_names``) is kept
  as a former name/address, so a search on an old name or a moved-from postcode still finds the child.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from contactpoint.core.keys import KeyStoreError, index_key
from contactpoint.core.sealing import RowDigester, open_sealed, seal
from contactpoint.directory import search_tokens
from contactpoint.directory.search_tokens import FoldedName
from contactpoint.keystore import datakeys

CHILD_TABLE = "directory_child"
NAME_TABLE = "directory_childname"
ADDRESS_TABLE = "directory_childaddress"
CARER_TABLE = "directory_carer"
RECORD_TABLE = "feeds_sourcerecord"

NAME_FIELDS = ("given_names", "family_name")
ADDRESS_FIELDS = ("address_line_1", "address_line_2", "town", "postcode")
# What each table's blob holds.
CHILD_SEALED_FIELDS = (*NAME_FIELDS, *ADDRESS_FIELDS, "nhs_number", "upn")
RECORD_SEALED_FIELDS = (*NAME_FIELDS, "former_family_names", *ADDRESS_FIELDS, "nhs_number", "upn", "carer",
                        "involvement")
CARER_SEALED_FIELDS = (*NAME_FIELDS, "phone", "email")

IDENTIFYING_FIELDS = (
    "given_names",
    "family_name",
    "date_of_birth",
    "sex",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "nhs_number",
    "upn",
)

BATCH = 20_000  # children (or records) whose rows are opened or sealed at a time


class IdentityUnavailable(KeyStoreError):
    """The owner's data key is gone (erased; or a restored backup holds a child erased since)."""


def _open(keys: Mapping[int, bytes], blob: Any, *, table: str, owner_id: int, fields: Sequence[str]) -> dict[str, Any]:
    """One row's sealed fields; blank fields for a row never sealed (a child before its first rebuild)."""
    if blob is None:
        return dict.fromkeys(fields, "")
    key = keys.get(owner_id)
    if key is None:
        raise IdentityUnavailable(f"the data key of {table} owner {owner_id} is gone (erased): "
                                  "its fields can't be read")
    return open_sealed(key, blob, table=table, owner_id=owner_id)


@dataclass(frozen=True)
class ChildIdentity:
    contactpoint_id: str
    given_names: str
    family_name: str
    date_of_birth: datetime.date | None
    sex: str
    address_line_1: str
    address_line_2: str
    town: str
    postcode: str
    nhs_number: str
    upn: str


def read_identity(child: Any) -> ChildIdentity:
    """The identifying fields of a ``Child`` (the golden record), unsealed."""
    return _identity(child, datakeys.fetch_data_keys(child_ids=[child.pk]))


def read_identities(children: Iterable[Any]) -> dict[int, ChildIdentity]:
    """:func:`read_identity` of many children, their keys fetched at once; a child whose key is gone is left out."""
    children = list(children)
    keys = datakeys.fetch_data_keys(child_ids=[child.pk for child in children])
    return {child.pk: _identity(child, keys) for child in children if child.pk in keys}


def _identity(child: Any, keys: Mapping[int, bytes]) -> ChildIdentity:
    fields = _open(keys, child.sealed, table=CHILD_TABLE, owner_id=child.pk, fields=CHILD_SEALED_FIELDS)
    return ChildIdentity(
        contactpoint_id=child.contactpoint_id, date_of_birth=child.date_of_birth, sex=child.sex,
        **{name: str(fields.get(name, "")) for name in CHILD_SEALED_FIELDS},
    )


def read_names(child_id: int) -> list[tuple[str, str, str]]:
    """(kind, given_names, family_name) for every name the child is or was known by."""
    keys = datakeys.fetch_data_keys(child_ids=[child_id])
    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, sealed FROM directory_childname WHERE child_id = %s", [child_id])
        rows = cursor.fetchall()
    names = []
    for kind, blob in rows:
        fields = _open(keys, blob, table=NAME_TABLE, owner_id=child_id, fields=NAME_FIELDS)
        names.append((kind, fields["given_names"], fields["family_name"]))
    return sorted(names, key=lambda name: (name[0], name[2], name[1]))


@dataclass(frozen=True)
class AddressRow:
    is_current: bool
    address_line_1: str
    address_line_2: str
    town: str
    postcode: str


def read_addresses(child_id: int) -> list[AddressRow]:
    """Every address the child is or was known at, the current one first."""
    keys = datakeys.fetch_data_keys(child_ids=[child_id])
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_current, sealed FROM directory_childaddress WHERE child_id = %s", [child_id])
        rows = cursor.fetchall()
    addresses = [
        AddressRow(is_current, **{name: str(value) for name, value in _open(
            keys, blob, table=ADDRESS_TABLE, owner_id=child_id, fields=ADDRESS_FIELDS).items()
            if name in ADDRESS_FIELDS})
        for is_current, blob in rows
    ]
    return sorted(addresses, key=lambda a: (not a.is_current, a.postcode, a.address_line_1))


@dataclass(frozen=True)
class CarerRow:
    source_record_id: int
    given_names: str
    family_name: str
    relationship: str
    phone: str
    email: str


def read_carers(child_id: int) -> list[CarerRow]:
    """The carers the child's source records report, in the order they were stored."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT source_record_id, relationship, sealed FROM directory_carer WHERE child_id = %s "
                       "ORDER BY id", [child_id])
        rows = cursor.fetchall()
    keys = datakeys.fetch_record_keys(record_ids=[row[0] for row in rows])
    carers = []
    for record_id, relationship, blob in rows:
        fields = _open(keys, blob, table=CARER_TABLE, owner_id=record_id, fields=CARER_SEALED_FIELDS)
        carers.append(CarerRow(record_id, fields["given_names"], fields["family_name"], relationship,
                               fields["phone"], fields["email"]))
    return carers


# Source records --------------------------------------------------------------------------------------


def seal_record(key: bytes, record_id: int, fields: Mapping[str, Any]) -> bytes:
    """A source record's blob: ``fields`` holds :data:`RECORD_SEALED_FIELDS` (``carer`` and ``involvement``
    as dicts, empty when the record reports none)."""
    return seal(key, {name: fields[name] for name in RECORD_SEALED_FIELDS}, table=RECORD_TABLE, owner_id=record_id)


def seal_carer(key: bytes, record_id: int, carer: Mapping[str, Any]) -> bytes:
    """A carer row's blob, under the key of the source record that reports the carer."""
    return seal(key, {name: carer.get(name, "") for name in CARER_SEALED_FIELDS}, table=CARER_TABLE,
                owner_id=record_id)


def read_source_identities(
    child_ids: Sequence[int] | None = None, *, record_ids: Sequence[int] | None = None, active_only: bool = True
) -> list[dict[str, Any]]:
    """Identifying fields of source records, for matching: by child, by record, or all current ones."""
    clauses = ["TRUE"]
    params: list[Any] = []
    if active_only:
        clauses.append("r.retired_at IS NULL")
    if child_ids is not None:
        clauses.append("r.child_id = ANY(%s)")
        params.append(list(child_ids))
    if record_ids is not None:
        clauses.append("r.id = ANY(%s)")
        params.append(list(record_ids))
    sql = (
        "SELECT r.id, s.code, r.child_id, r.date_of_birth, r.sex, r.sealed "
        "FROM feeds_sourcerecord r JOIN feeds_sourcesystem s ON s.id = r.source_id "
        f"WHERE {' AND '.join(clauses)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found: list[dict[str, Any]] = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        keys = datakeys.fetch_record_keys(record_ids=[row[0] for row in chunk])
        for record_id, source, child_id, date_of_birth, sex, blob in chunk:
            if record_id not in keys:
                continue  # erased since this backup was taken: nothing of it can be read
            fields = _open(keys, blob, table=RECORD_TABLE, owner_id=record_id, fields=RECORD_SEALED_FIELDS)
            found.append({
                "record_key": record_id, "source": source, "child_id": child_id,
                "given_names": fields["given_names"], "family_name": fields["family_name"],
                "former_family_names": fields["former_family_names"], "date_of_birth": date_of_birth, "sex": sex,
                "address_line_1": fields["address_line_1"], "address_line_2": fields["address_line_2"],
                "town": fields["town"], "postcode": fields["postcode"], "nhs_number": fields["nhs_number"],
                "upn": fields["upn"],
            })
    return found


# The golden record -----------------------------------------------------------------------------------

# The current records of the children being rebuilt, unsealed: a TEMPORARY table, gone at commit.
_GOLDEN_SRC_COLUMNS = ("id", "child_id", "trust", "updated_at", "date_of_birth", "sex", "local_authority",
                       "retention_condition", "given_names", "family_name", "former_family_names", "address_line_1",
                       "address_line_2", "town", "postcode", "nhs_number", "upn")


def _load_golden_sources(cursor: Any) -> None:
    """Unseal the current source records of the children in ``golden_ids`` into ``golden_src``."""
    cursor.execute("DROP TABLE IF EXISTS golden_src")
    cursor.execute(
        """
        CREATE TEMP TABLE golden_src (
            id bigint, child_id bigint, trust int, updated_at timestamptz, date_of_birth date, sex text,
            local_authority text, retention_condition text, given_names text, family_name text,
            former_family_names text, address_line_1 text, address_line_2 text, town text, postcode text,
            nhs_number text, upn text
        ) ON COMMIT DROP
        """
    )
    cursor.execute(
        """
        SELECT r.id, r.child_id, s.trust, r.updated_at, r.date_of_birth, r.sex, r.local_authority,
               r.retention_condition, r.sealed
        FROM feeds_sourcerecord r
        JOIN feeds_sourcesystem s ON s.id = r.source_id
        JOIN golden_ids g ON g.id = r.child_id
        WHERE r.retired_at IS NULL
        """
    )
    records = cursor.fetchall()
    with cursor.cursor.copy(f"COPY golden_src ({', '.join(_GOLDEN_SRC_COLUMNS)}) FROM STDIN") as copy:
        for start in range(0, len(records), BATCH):
            chunk = records[start:start + BATCH]
            keys = datakeys.fetch_record_keys(record_ids=[row[0] for row in chunk])
            for *clear, blob in chunk:
                if clear[0] not in keys:
                    continue  # a record erased since a backup was restored: it no longer says anything
                fields = _open(keys, blob, table=RECORD_TABLE, owner_id=clear[0], fields=RECORD_SEALED_FIELDS)
                copy.write_row((*clear, *(fields[name] for name in _GOLDEN_SRC_COLUMNS[8:])))
    cursor.execute("ANALYZE golden_src")


def rebuild_golden_records(child_ids: Sequence[int]) -> None:
    """Recompute the golden identity, names, addresses and search tokens of these children.

    The children's current records are unsealed into a temporary table; the survivorship rules run over it
    as set-based SQL into temporary tables; then each child's rows are sealed under its key (made here for
    a new child) and only the rows that changed are written.
    """
    if not child_ids:
        return
    ids = list(child_ids)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS golden_ids (id bigint PRIMARY KEY) ON COMMIT DROP")
        cursor.execute("TRUNCATE golden_ids")
        cursor.execute("INSERT INTO golden_ids SELECT DISTINCT unnest(%s::bigint[])", [ids])
        _load_golden_sources(cursor)
        cursor.execute("DROP TABLE IF EXISTS golden_child")
        cursor.execute(
            """
            CREATE TEMP TABLE golden_child ON COMMIT DROP AS
            WITH src AS (
                SELECT *, ((given_names <> '')::int + (family_name <> '')::int + (date_of_birth IS NOT NULL)::int
                           + (postcode <> '')::int + (nhs_number <> '')::int + (upn <> '')::int) AS completeness
                FROM golden_src
            ), name AS (
                SELECT DISTINCT ON (child_id) child_id, given_names, family_name
                FROM src WHERE family_name <> '' OR given_names <> ''
                ORDER BY child_id, trust DESC, updated_at DESC, completeness DESC, id
            ), dob AS (
                SELECT DISTINCT ON (child_id) child_id, date_of_birth FROM src
                WHERE date_of_birth IS NOT NULL ORDER BY child_id, trust DESC, updated_at DESC, id
            ), sex AS (
                SELECT DISTINCT ON (child_id) child_id, sex FROM src
                WHERE sex IN ('F', 'M') ORDER BY child_id, trust DESC, updated_at DESC, id
            ), nhs AS (
                SELECT DISTINCT ON (child_id) child_id, nhs_number FROM src
                WHERE nhs_number <> '' ORDER BY child_id, trust DESC, updated_at DESC, id
            ), upn AS (
                SELECT DISTINCT ON (child_id) child_id, upn FROM src
                WHERE upn <> '' ORDER BY child_id, trust DESC, updated_at DESC, id
            ), addr AS (
                SELECT DISTINCT ON (child_id) child_id, address_line_1, address_line_2, town, postcode
                FROM src WHERE postcode <> ''
                ORDER BY child_id, updated_at DESC, trust DESC, id
            ), la AS (
                SELECT DISTINCT ON (child_id) child_id, local_authority FROM src
                WHERE local_authority <> '' ORDER BY child_id, updated_at DESC, trust DESC, id
            ), retention AS (
                SELECT child_id, max(retention_condition) AS retention_condition FROM src GROUP BY child_id
            )
            SELECT g.id,
                   coalesce(name.given_names, '') AS given_names, coalesce(name.family_name, '') AS family_name,
                   dob.date_of_birth, coalesce(sex.sex, 'U') AS sex,
                   coalesce(nhs.nhs_number, '') AS nhs_number, coalesce(upn.upn, '') AS upn,
                   coalesce(addr.address_line_1, '') AS address_line_1,
                   coalesce(addr.address_line_2, '') AS address_line_2,
                   coalesce(addr.town, '') AS town, coalesce(addr.postcode, '') AS postcode,
                   la.local_authority, coalesce(retention.retention_condition, '') AS retention_condition
            FROM golden_ids g
            LEFT JOIN name ON name.child_id = g.id
            LEFT JOIN dob ON dob.child_id = g.id
            LEFT JOIN sex ON sex.child_id = g.id
            LEFT JOIN nhs ON nhs.child_id = g.id
            LEFT JOIN upn ON upn.child_id = g.id
            LEFT JOIN addr ON addr.child_id = g.id
            LEFT JOIN la ON la.child_id = g.id
            LEFT JOIN retention ON retention.child_id = g.id
            """
        )
        cursor.execute("CREATE UNIQUE INDEX ON golden_child (id)")
        cursor.execute(
            """
            UPDATE directory_child c SET
                date_of_birth = gc.date_of_birth,
                sex = gc.sex,
                local_authority_id = coalesce(
                    (SELECT id FROM orgs_localauthority WHERE code = gc.local_authority), c.local_authority_id),
                retention_condition = gc.retention_condition,
                updated_at = now()
            FROM golden_child gc
            WHERE c.id = gc.id
            """
        )
        # Names: the golden name is current; every other name any record carries is former.
        cursor.execute("DROP TABLE IF EXISTS golden_names")
        cursor.execute(
            """
            CREATE TEMP TABLE golden_names ON COMMIT DROP AS
            SELECT gc.id AS child_id, 'current' AS kind, gc.given_names, gc.family_name FROM golden_child gc
            UNION
            SELECT s.child_id, 'former', s.given_names, s.family_name FROM golden_src s
            JOIN golden_child gc ON gc.id = s.child_id
            WHERE (s.given_names, s.family_name) <> (gc.given_names, gc.family_name)
            UNION
            SELECT s.child_id, 'former', s.given_names, trim(f) FROM golden_src s,
                   unnest(string_to_array(s.former_family_names, ';')) AS f
            WHERE trim(f) <> ''
            """
        )
        cursor.execute("CREATE INDEX ON golden_names (child_id)")
        cursor.execute("DROP TABLE IF EXISTS golden_addresses")
        cursor.execute(
            """
            CREATE TEMP TABLE golden_addresses ON COMMIT DROP AS
            SELECT DISTINCT ON (s.child_id, s.address_line_1, s.postcode)
                   s.child_id, (s.postcode = gc.postcode AND s.address_line_1 = gc.address_line_1) AS is_current,
                   s.address_line_1, s.address_line_2, s.town, s.postcode
            FROM golden_src s JOIN golden_child gc ON gc.id = s.child_id
            WHERE s.postcode <> '' OR s.address_line_1 <> ''
            ORDER BY s.child_id, s.address_line_1, s.postcode,
                     (s.postcode = gc.postcode AND s.address_line_1 = gc.address_line_1) DESC
            """
        )
        cursor.execute("CREATE INDEX ON golden_addresses (child_id)")
        _seal_golden_rows(cursor)
        for table in ("golden_src", "golden_child", "golden_names", "golden_addresses"):
            cursor.execute(f"DROP TABLE {table}")


@dataclass
class _ChildBundle:
    """A child's identifying fields, names and addresses, in clear, for sealing or for search tokens."""

    fields: dict[str, Any]
    date_of_birth: datetime.date | None
    names: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, given_names, family_name)
    addresses: list[tuple[bool, dict[str, str]]] = field(default_factory=list)  # (is_current, ADDRESS_FIELDS)

    def tokens(self, hasher: search_tokens.Hasher) -> list[int]:
        postcodes = sorted({str(a["postcode"]) for _, a in self.addresses if a["postcode"]})
        return search_tokens.child_tokens(
            hasher, names=_fold_names(self.names), date_of_birth=self.date_of_birth, postcodes=postcodes,
            nhs_number=str(self.fields.get("nhs_number", "")), upn=str(self.fields.get("upn", "")),
        )


def _golden_bundles(cursor: Any, child_ids: list[int]) -> dict[int, _ChildBundle]:
    """The rebuilt children's rows, in clear, from the temporary tables of :func:`rebuild_golden_records`."""
    cursor.execute(f"SELECT id, date_of_birth, {', '.join(CHILD_SEALED_FIELDS)} FROM golden_child "
                   "WHERE id = ANY(%s)", [child_ids])
    bundles = {row[0]: _ChildBundle(dict(zip(CHILD_SEALED_FIELDS, row[2:], strict=True)), row[1])
               for row in cursor.fetchall()}
    cursor.execute("SELECT child_id, kind, given_names, family_name FROM golden_names WHERE child_id = ANY(%s)",
                   [child_ids])
    for child_id, kind, given_names, family_name in cursor.fetchall():
        bundles[child_id].names.append((kind, given_names, family_name))
    cursor.execute(f"SELECT child_id, is_current, {', '.join(ADDRESS_FIELDS)} FROM golden_addresses "
                   "WHERE child_id = ANY(%s)", [child_ids])
    for child_id, is_current, *lines in cursor.fetchall():
        bundles[child_id].addresses.append((is_current, dict(zip(ADDRESS_FIELDS, lines, strict=True))))
    return bundles


def _seal_golden_rows(cursor: Any) -> None:
    """Seal the rebuilt children's rows (from the ``golden_*`` temporary tables) and write what changed.

    Names and addresses carry a keyed digest of their fields, so a rebuild compares digests, not blobs
    (a blob is new every time: its nonce is random) and rewrites only the rows that changed.
    """
    hasher = search_tokens.Hasher(index_key())
    digester = RowDigester()
    cursor.execute("SELECT id FROM golden_ids ORDER BY id")
    ids = [row[0] for row in cursor.fetchall()]
    for table, columns in (
        ("sealed_child", "id bigint, sealed bytea"),
        ("sealed_names", "child_id bigint, kind text, digest bytea, sealed bytea"),
        ("sealed_addresses", "child_id bigint, is_current boolean, digest bytea, sealed bytea"),
        ("sealed_tokens", "child_id bigint, tokens bigint[]"),
    ):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        keys = datakeys.fetch_or_create_data_keys(child_ids=batch)
        bundles = _golden_bundles(cursor, batch)
        child_rows, name_rows, address_rows, token_rows = [], [], [], []
        for child_id, bundle in bundles.items():
            key = keys[child_id]
            child_rows.append((child_id, seal(key, bundle.fields, table=CHILD_TABLE, owner_id=child_id)))
            for kind, given_names, family_name in bundle.names:
                names = {"given_names": given_names, "family_name": family_name}
                name_rows.append((child_id, kind, digester.digest({"kind": kind, **names}, table=NAME_TABLE,
                                                                  owner_id=child_id),
                                  seal(key, names, table=NAME_TABLE, owner_id=child_id)))
            for is_current, lines in bundle.addresses:
                address_rows.append((child_id, is_current,
                                     digester.digest({"is_current": is_current, **lines}, table=ADDRESS_TABLE,
                                                     owner_id=child_id),
                                     seal(key, lines, table=ADDRESS_TABLE, owner_id=child_id)))
            tokens = bundle.tokens(hasher)
            if tokens:
                token_rows.append((child_id, tokens))
        for table, columns, rows in (
            ("sealed_child", "id, sealed", child_rows),
            ("sealed_names", "child_id, kind, digest, sealed", name_rows),
            ("sealed_addresses", "child_id, is_current, digest, sealed", address_rows),
            ("sealed_tokens", "child_id, tokens", token_rows),
        ):
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    cursor.execute("CREATE UNIQUE INDEX ON sealed_child (id)")
    cursor.execute("UPDATE directory_child c SET sealed = s.sealed FROM sealed_child s WHERE c.id = s.id")
    _write_child_rows(cursor, NAME_TABLE, ["child_id", "kind", "digest", "sealed"], "SELECT * FROM sealed_names",
                      compared=["kind", "digest"])
    _write_child_rows(cursor, ADDRESS_TABLE, ["child_id", "is_current", "digest", "sealed"],
                      "SELECT * FROM sealed_addresses", compared=["is_current", "digest"])
    _write_child_rows(cursor, "directory_searchtoken", ["child_id", "tokens"], "SELECT * FROM sealed_tokens",
                      compared=["tokens"])
    for table in ("sealed_child", "sealed_names", "sealed_addresses", "sealed_tokens"):
        cursor.execute(f"DROP TABLE {table}")


def _open_bundles(child_ids: Sequence[int]) -> dict[int, _ChildBundle]:
    """These children's stored identity, names and addresses, unsealed; children without a key are left out."""
    ids = list(dict.fromkeys(int(i) for i in child_ids))
    if not ids:
        return {}
    keys = datakeys.fetch_data_keys(child_ids=ids)
    ids = [i for i in ids if i in keys]
    bundles: dict[int, _ChildBundle] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, date_of_birth, sealed FROM directory_child WHERE id = ANY(%s)", [ids])
        for child_id, date_of_birth, blob in cursor.fetchall():
            fields = _open(keys, blob, table=CHILD_TABLE, owner_id=child_id, fields=CHILD_SEALED_FIELDS)
            bundles[child_id] = _ChildBundle(fields, date_of_birth)
        cursor.execute("SELECT child_id, kind, sealed FROM directory_childname WHERE child_id = ANY(%s)", [ids])
        for child_id, kind, blob in cursor.fetchall():
            names = _open(keys, blob, table=NAME_TABLE, owner_id=child_id, fields=NAME_FIELDS)
            bundles[child_id].names.append((kind, names["given_names"], names["family_name"]))
        cursor.execute("SELECT child_id, is_current, sealed FROM directory_childaddress WHERE child_id = ANY(%s)",
                       [ids])
        for child_id, is_current, blob in cursor.fetchall():
            bundles[child_id].addresses.append(
                (is_current, _open(keys, blob, table=ADDRESS_TABLE, owner_id=child_id, fields=ADDRESS_FIELDS)))
    return bundles


def rebuild_search_index(*, batch_size: int = BATCH, progress: Any = None) -> int:
    """Rebuild every child's search tokens from its sealed rows; return how many children.

    After a change to how tokens are made (their kinds, or the index key): only the index is rebuilt, not
    the golden records. (A new master key would also need every data key re-wrapped: not built.) Each batch
    of children commits on its own, so a large directory is not one long transaction; a search between
    batches may miss a child whose tokens have not been rebuilt yet. Safe to re-run. The caller records the audit event.
    """
    from django.db import transaction

    hasher = search_tokens.Hasher(index_key())
    done, last = 0, 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM directory_child WHERE id > %s ORDER BY id LIMIT %s", [last, batch_size])
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return done
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS golden_ids (id bigint PRIMARY KEY) ON COMMIT DROP")
            cursor.execute("TRUNCATE golden_ids")
            cursor.execute("INSERT INTO golden_ids SELECT unnest(%s::bigint[])", [ids])
            cursor.execute("DROP TABLE IF EXISTS sealed_tokens")
            cursor.execute("CREATE TEMP TABLE sealed_tokens (child_id bigint, tokens bigint[]) ON COMMIT DROP")
            rows = [(child_id, tokens) for child_id, bundle in _open_bundles(ids).items()
                    if (tokens := bundle.tokens(hasher))]
            with cursor.cursor.copy("COPY sealed_tokens (child_id, tokens) FROM STDIN") as copy:
                for row in rows:  # (nothing else may use the connection while COPY runs)
                    copy.write_row(row)
            _write_child_rows(cursor, "directory_searchtoken", ["child_id", "tokens"], "SELECT * FROM sealed_tokens",
                              compared=["tokens"])
        done, last = done + len(ids), ids[-1]
        if progress is not None:
            progress(done)


def _fold_names(names: Iterable[Sequence[str]]) -> list[FoldedName]:
    """(kind, given_names, family_name) rows as the index rows search scores."""
    folded: dict[FoldedName, None] = {}
    for kind, given_names, family_name in names:
        for row in search_tokens.fold_name(given_names=given_names, family_name=family_name,
                                           is_current=kind == "current"):
            folded[row] = None
    return list(folded)


def _write_child_rows(cursor: Any, table: str, columns: list[str], select_sql: str, *, compared: list[str]) -> None:
    """Make ``table``'s rows of the children in ``golden_ids`` exactly those ``select_sql`` gives.

    Only the difference is written: most children a feed touches already have the right names,
    addresses and index rows, and deleting and re-inserting them would cost every index entry, the
    write-ahead log and a deferred foreign-key check each, for the same rows. Rows are the same when the
    ``compared`` columns are (a digest stands for a sealed row's fields). ``select_sql`` must name its
    columns as ``columns`` and give each row once.
    """
    listed = ", ".join(columns)
    same = " AND ".join(f"n.{c} IS NOT DISTINCT FROM t.{c}" for c in compared)
    cursor.execute("DROP TABLE IF EXISTS golden_rows")
    cursor.execute(f"CREATE TEMP TABLE golden_rows ON COMMIT DROP AS {select_sql}")
    cursor.execute("ANALYZE golden_rows (child_id)")
    cursor.execute(
        f"DELETE FROM {table} t USING golden_ids g WHERE t.child_id = g.id "
        f"AND NOT EXISTS (SELECT 1 FROM golden_rows n WHERE n.child_id = t.child_id AND {same})"
    )
    cursor.execute(
        f"INSERT INTO {table} ({listed}) SELECT {listed} FROM golden_rows n "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.child_id = n.child_id AND {same})"
    )
    cursor.execute("DROP TABLE golden_rows")


# Search ----------------------------------------------------------------------------------------------
# The token index is looked up and candidates' rows are unsealed only here, so that search
# (directory.search) scores folded keys and never touches the tables itself.


@dataclass(frozen=True)
class QueryNameKeys:
    """A typed name, folded exactly as the index folds names (:mod:`.search_tokens`)."""

    given: str  # first given name
    given_all: str  # every given name, space-separated
    given_dm: str
    family: str  # the whole family name without spaces (SMITH-JONES → SMITHJONES)
    family_parts: tuple[str, ...]  # its parts when hyphenated or double-barrelled
    family_dm: str
    given_as_family: str  # the first given name, folded as a family name (for swapped names)
    given_as_family_dm: str


def search_query_keys(*, given_names: str, family_name: str) -> QueryNameKeys:
    """Fold a typed name into search keys, exactly as the token index folds names (in Python)."""
    given_all = search_tokens.fold(given_names or "")
    family_folded = search_tokens.fold(family_name or "")
    given_first = given_all.split(" ")[0] if given_all else ""
    return _query_name_keys(
        given_all, family_folded, search_tokens.phonetic(given_first),
        search_tokens.phonetic(family_folded.replace(" ", "")), search_tokens.phonetic(given_all.replace(" ", "")),
    )


def _query_name_keys(
    given_all: str, family_folded: str, given_dm: str | None, family_dm: str | None, given_as_family_dm: str | None
) -> QueryNameKeys:
    parts = tuple(p for p in family_folded.split(" ") if len(p) >= 2) if " " in family_folded else ()
    return QueryNameKeys(
        given=given_all.split(" ")[0] if given_all else "",
        given_all=given_all,
        given_dm=given_dm or "",
        family=family_folded.replace(" ", ""),
        family_parts=parts,
        family_dm=family_dm or "",
        given_as_family=given_all.replace(" ", ""),
        given_as_family_dm=given_as_family_dm or "",
    )


# One folded reading of a candidate's name, as search scores it (folded in Python from its unsealed names).
IndexedName = FoldedName


@dataclass(frozen=True)
class SearchCandidate:
    """A child a search might return, with the keys search scores it on (no display fields)."""

    child_id: int
    contactpoint_id: str
    sex: str
    date_of_birth: datetime.date | None
    is_shielded: bool
    local_authority_id: int | None
    nhs_number: str
    upn: str
    names: tuple[IndexedName, ...]
    postcodes: tuple[tuple[str, bool], ...]  # (postcode, is_current)


@dataclass(frozen=True)
class CandidateQuery:
    """What to look up. Empty values are skipped; each lookup is capped at ``per_lookup`` rows."""

    keys: QueryNameKeys
    given_canons: tuple[str, ...] = ()  # canonical readings of the typed given name
    swapped_canons: tuple[str, ...] = ()  # ... and of the typed family name read as a given name
    dates_of_birth: tuple[datetime.date, ...] = ()  # exact dates to try (as typed, and day/month swapped)
    birth_years: tuple[int, int] | None = None  # inclusive range
    postcode: str = ""
    nhs_number: str = ""
    upn: str = ""
    local_authority_id: int | None = None  # confine to one local authority (directory teams)
    per_lookup: int = 300


def find_search_candidates(query: CandidateQuery) -> list[SearchCandidate]:
    """Candidate children for a search: each lookup is ``tokens && (its tokens)`` on the GIN index, capped.

    The candidates' names, postcodes and identifiers are then unsealed from the child's own rows (here, the
    one module that reads them) and folded in Python; scoring is the caller's job
    (:mod:`contactpoint.directory.search`). A child whose key is gone is never a candidate.
    """
    keys = query.keys
    families = [f for f in (keys.family, *keys.family_parts) if len(f) >= 2]
    wanted = search_tokens.query_tokens(
        index_key(), families=families, family_dm=keys.family_dm, given=keys.given, given_dm=keys.given_dm,
        canons=query.given_canons, swapped_family=keys.given_as_family, swapped_canons=query.swapped_canons,
        dates_of_birth=query.dates_of_birth, birth_years=query.birth_years, has_postcode=bool(query.postcode),
        postcode=query.postcode, nhs_number=query.nhs_number, upn=query.upn,
    )
    if not wanted.lookups:
        return []
    params: dict[str, Any] = {"n": query.per_lookup}
    # PostgreSQL cannot know how many children a token has; it guesses about a thousandth of the table per
    # token, so for a lookup of 60 tokens (a hyphenated name's deletions on two dates) it expects 6% of
    # the table and reads all of it (0.7 s at 100,000 children), and with the cap inside a lookup it
    # expects a sequential scan to stop early. So each token is looked up on its own (a one-element
    # array, which the GIN index always answers: well under a millisecond), in a MATERIALIZED CTE
    # capped outside it.
    found, capped = [], []
    for number, (_name, tokens) in enumerate(wanted.lookups):
        params[f"t{number}"] = list(tokens)
        found.append(f"l{number} AS MATERIALIZED (SELECT s.child_id FROM unnest(%(t{number})s::bigint[]) AS q(token), "
                     "LATERAL (SELECT child_id FROM directory_searchtoken WHERE tokens && ARRAY[q.token]) s)")
        capped.append(f"(SELECT child_id FROM l{number} LIMIT %(n)s)")
    scope = ""
    if query.local_authority_id is not None:
        scope = " AND c.local_authority_id = %(la)s"
        params["la"] = query.local_authority_id
    sql = f"""
        WITH {", ".join(found)}, cand AS ({" UNION ".join(capped)})
        SELECT c.id, c.contactpoint_id, c.sex, c.date_of_birth, c.is_shielded, c.local_authority_id
        FROM directory_child c
        WHERE c.id = ANY(ARRAY(SELECT child_id FROM cand)) AND c.status = 'active'{scope}
    """
    # (An array of the candidates, not a join: the planner cannot know how few children the tokens have,
    # and for a join it would expect thousands and read the whole child table.)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    bundles = _open_bundles([row[0] for row in rows])
    return [
        SearchCandidate(
            child_id=row[0],
            contactpoint_id=row[1],
            sex=row[2],
            date_of_birth=row[3],
            is_shielded=row[4],
            local_authority_id=row[5],
            nhs_number=str(bundle.fields.get("nhs_number", "")),
            upn=str(bundle.fields.get("upn", "")),
            names=tuple(_fold_names(bundle.names)),
            postcodes=tuple((str(a["postcode"]), bool(current)) for current, a in bundle.addresses if a["postcode"]),
        )
        for row in rows
        if (bundle := bundles.get(row[0])) is not None
    ]


@dataclass(frozen=True)
class ListedChild:
    """What a result list shows of a child: no address, only a coarse location."""

    child_id: int
    contactpoint_id: str
    given_names: str
    family_name: str
    date_of_birth: datetime.date | None
    sex: str
    town: str
    postcode: str
    local_authority_id: int | None
    is_shielded: bool


def read_listed_children(child_ids: Sequence[int]) -> dict[int, ListedChild]:
    """The fields a result list shows, for these children (by id); a child whose key is gone is left out."""
    if not child_ids:
        return {}
    ids = list(child_ids)
    keys = datakeys.fetch_data_keys(child_ids=ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, contactpoint_id, date_of_birth, sex, local_authority_id, is_shielded, sealed "
            "FROM directory_child WHERE id = ANY(%s)",
            [ids],
        )
        rows = cursor.fetchall()
    listed = {}
    for child_id, contactpoint_id, date_of_birth, sex, local_authority_id, is_shielded, blob in rows:
        if child_id not in keys:
            continue
        fields = _open(keys, blob, table=CHILD_TABLE, owner_id=child_id, fields=CHILD_SEALED_FIELDS)
        listed[child_id] = ListedChild(child_id, contactpoint_id, fields["given_names"], fields["family_name"],
                                       date_of_birth, sex, fields["town"], fields["postcode"], local_authority_id,
                                       is_shielded)
    return listed
