"""The one module that reads and writes a child's identifying fields.

Identifying fields are names, date of birth, sex, address, postcode and national identifiers, on
``Child`` (the golden record), ``ChildName``, ``ChildAddress`` and ``feeds.SourceRecord``. Everything
else — pages, API, matching, search — asks this module for them, so that encrypting them (issue:
retention and provable erasure) changes this module and not its callers.

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from contactpoint.core.keys import index_key
from contactpoint.directory import search_tokens
from contactpoint.directory.search_tokens import FoldedName

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


def read_identity(child: object) -> ChildIdentity:
    """The identifying fields of a ``Child`` (the golden record)."""
    return ChildIdentity(
        contactpoint_id=child.contactpoint_id,  # type: ignore[attr-defined]
        **{name: getattr(child, name) for name in IDENTIFYING_FIELDS},
    )


def read_names(child_id: int) -> list[tuple[str, str, str]]:
    """(kind, given_names, family_name) for every name the child is or was known by."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind, given_names, family_name FROM directory_childname WHERE child_id = %s "
            "ORDER BY kind, family_name, given_names",
            [child_id],
        )
        return [(row[0], row[1], row[2]) for row in cursor.fetchall()]


def read_source_identities(
    child_ids: Sequence[int] | None = None, *, record_ids: Sequence[int] | None = None, active_only: bool = True
) -> list[dict[str, object]]:
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
        "SELECT r.id AS record_key, s.code AS source, r.child_id, r.given_names, r.family_name, "
        "r.former_family_names, r.date_of_birth, r.sex, r.address_line_1, r.town, r.postcode, "
        "r.nhs_number, r.upn FROM feeds_sourcerecord r JOIN feeds_sourcesystem s ON s.id = r.source_id "
        f"WHERE {' AND '.join(clauses)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def rebuild_golden_records(child_ids: Sequence[int]) -> None:
    """Recompute the displayed identity, names and addresses of these children (set-based SQL)."""
    if not child_ids:
        return
    ids = list(child_ids)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS golden_ids (id bigint PRIMARY KEY) ON COMMIT DROP")
        cursor.execute("TRUNCATE golden_ids")
        cursor.execute("INSERT INTO golden_ids SELECT DISTINCT unnest(%s::bigint[])", [ids])
        cursor.execute("DROP TABLE IF EXISTS golden_src")
        cursor.execute(
            """
            CREATE TEMP TABLE golden_src ON COMMIT DROP AS
            SELECT r.*, s.trust,
                   ((r.given_names <> '')::int + (r.family_name <> '')::int + (r.date_of_birth IS NOT NULL)::int
                    + (r.postcode <> '')::int + (r.nhs_number <> '')::int + (r.upn <> '')::int) AS completeness
            FROM feeds_sourcerecord r
            JOIN feeds_sourcesystem s ON s.id = r.source_id
            JOIN golden_ids g ON g.id = r.child_id
            WHERE r.retired_at IS NULL
            """
        )
        cursor.execute(
            """
            WITH name AS (
                SELECT DISTINCT ON (child_id) child_id, given_names, family_name
                FROM golden_src WHERE family_name <> '' OR given_names <> ''
                ORDER BY child_id, trust DESC, updated_at DESC, completeness DESC, id
            ), dob AS (
                SELECT DISTINCT ON (child_id) child_id, date_of_birth FROM golden_src
                WHERE date_of_birth IS NOT NULL ORDER BY child_id, trust DESC, updated_at DESC, id
            ), sex AS (
                SELECT DISTINCT ON (child_id) child_id, sex FROM golden_src
                WHERE sex IN ('F', 'M') ORDER BY child_id, trust DESC, updated_at DESC, id
            ), nhs AS (
                SELECT DISTINCT ON (child_id) child_id, nhs_number FROM golden_src
                WHERE nhs_number <> '' ORDER BY child_id, trust DESC, updated_at DESC, id
            ), upn AS (
                SELECT DISTINCT ON (child_id) child_id, upn FROM golden_src
                WHERE upn <> '' ORDER BY child_id, trust DESC, updated_at DESC, id
            ), addr AS (
                SELECT DISTINCT ON (child_id) child_id, address_line_1, address_line_2, town, postcode
                FROM golden_src WHERE postcode <> ''
                ORDER BY child_id, updated_at DESC, trust DESC, id
            ), la AS (
                SELECT DISTINCT ON (child_id) child_id, local_authority FROM golden_src
                WHERE local_authority <> '' ORDER BY child_id, updated_at DESC, trust DESC, id
            ), retention AS (
                SELECT child_id, max(retention_condition) AS retention_condition FROM golden_src
                GROUP BY child_id
            )
            UPDATE directory_child c SET
                given_names = coalesce(name.given_names, ''),
                family_name = coalesce(name.family_name, ''),
                date_of_birth = dob.date_of_birth,
                sex = coalesce(sex.sex, 'U'),
                nhs_number = coalesce(nhs.nhs_number, ''),
                upn = coalesce(upn.upn, ''),
                address_line_1 = coalesce(addr.address_line_1, ''),
                address_line_2 = coalesce(addr.address_line_2, ''),
                town = coalesce(addr.town, ''),
                postcode = coalesce(addr.postcode, ''),
                local_authority_id = coalesce(
                    (SELECT id FROM orgs_localauthority WHERE code = la.local_authority), c.local_authority_id),
                retention_condition = coalesce(retention.retention_condition, ''),
                updated_at = now()
            FROM golden_ids g
            LEFT JOIN name ON name.child_id = g.id
            LEFT JOIN dob ON dob.child_id = g.id
            LEFT JOIN sex ON sex.child_id = g.id
            LEFT JOIN nhs ON nhs.child_id = g.id
            LEFT JOIN upn ON upn.child_id = g.id
            LEFT JOIN addr ON addr.child_id = g.id
            LEFT JOIN la ON la.child_id = g.id
            LEFT JOIN retention ON retention.child_id = g.id
            WHERE c.id = g.id
            """
        )
        # Names: the golden name is current; every other name any record carries is former.
        _write_child_rows(
            cursor,
            "directory_childname",
            ["child_id", "kind", "given_names", "family_name"],
            """
            SELECT c.id AS child_id, 'current' AS kind, c.given_names, c.family_name
            FROM directory_child c JOIN golden_ids g ON g.id = c.id
            UNION
            SELECT s.child_id, 'former', s.given_names, s.family_name FROM golden_src s
            JOIN directory_child c ON c.id = s.child_id
            WHERE (s.given_names, s.family_name) <> (c.given_names, c.family_name)
            UNION
            SELECT s.child_id, 'former', s.given_names, trim(f) FROM golden_src s,
                   unnest(string_to_array(s.former_family_names, ';')) AS f
            WHERE trim(f) <> ''
            """,
        )
        _write_child_rows(
            cursor,
            "directory_childaddress",
            ["child_id", "is_current", "address_line_1", "address_line_2", "town", "postcode"],
            """
            SELECT DISTINCT ON (s.child_id, s.address_line_1, s.postcode)
                   s.child_id, (s.postcode = c.postcode AND s.address_line_1 = c.address_line_1) AS is_current,
                   s.address_line_1, s.address_line_2, s.town, s.postcode
            FROM golden_src s JOIN directory_child c ON c.id = s.child_id
            WHERE s.postcode <> '' OR s.address_line_1 <> ''
            ORDER BY s.child_id, s.address_line_1, s.postcode,
                     (s.postcode = c.postcode AND s.address_line_1 = c.address_line_1) DESC
            """,
        )
        cursor.execute("DROP TABLE golden_src")
        _rebuild_search_index(cursor)


def search_index_mode() -> str:
    """Which search index this directory keeps and searches: ``"clear"`` or ``"tokens"`` (docs/search.md)."""
    return str(settings.CONTACTPOINT.get("SEARCH_INDEX", "clear"))


def _rebuild_search_index(cursor: Any) -> None:
    """The search index rows of the children in ``golden_ids``, in the mode in use.

    One index or the other, never both: a tokens-mode directory must hold no clear folded names.
    """
    if search_index_mode() == "tokens":
        cursor.execute("DELETE FROM directory_searchname t USING golden_ids g WHERE t.child_id = g.id")
        _rebuild_search_tokens(cursor)
    else:
        cursor.execute("DELETE FROM directory_searchtoken t USING golden_ids g WHERE t.child_id = g.id")
        _rebuild_search_names(cursor)


def rebuild_search_index(*, batch_size: int = 50_000, progress: Any = None) -> int:
    """Rebuild every child's search index rows in the mode in use; return how many children.

    For switching ``CONTACTPOINT_SEARCH_INDEX`` (or rotating the master key, which changes the index
    key): only the index is rebuilt, not the golden records. Each batch of children commits on its own,
    so a large directory is not one long transaction; a search between batches may miss a child whose
    rows have not been rebuilt yet. Safe to re-run. The caller records the audit event.
    """
    from django.db import transaction

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
            _rebuild_search_index(cursor)
        done, last = done + len(ids), ids[-1]
        if progress is not None:
            progress(done)


def _rebuild_search_names(cursor: Any) -> None:
    """The search index rows (``directory_searchname``) of the children in ``golden_ids``.

    One row per name (current and former) × family-name form (the whole name, and each part of a
    hyphenated or double-barrelled one) × canonical reading of the first given name. Set-based.

    Folding (``cp_search_fold``) and ``dmetaphone`` cost far more than the joins, and a batch of
    children shares most of its given and family names, so each distinct name is folded once
    (``search_given``, ``search_family``) and the rows are joined from those.
    """
    _write_child_rows(
        cursor,
        "directory_searchname",
        ["child_id", "is_current", "family", "family_dm", "given", "given_all", "given_dm", "given_canon", "dob",
         "birth_year"],
        """
        WITH names AS (
            SELECT n.child_id, n.kind, n.given_names, n.family_name
            FROM directory_childname n JOIN golden_ids g ON g.id = n.child_id
        ), given_folded AS MATERIALIZED (
            SELECT given_names, cp_search_fold(given_names) AS given_all FROM (SELECT DISTINCT given_names FROM names) d
        ), first_given AS MATERIALIZED (
            SELECT d.given, dmetaphone(d.given) AS given_dm, coalesce(fn.canonical, d.given) AS given_canon
            FROM (SELECT DISTINCT split_part(given_all, ' ', 1) AS given FROM given_folded) d
            LEFT JOIN directory_forename fn ON fn.name = d.given
        ), search_given AS MATERIALIZED (
            SELECT f.given_names, f.given_all, k.given, k.given_dm, k.given_canon
            FROM given_folded f JOIN first_given k ON k.given = split_part(f.given_all, ' ', 1)
        ), family_folded AS MATERIALIZED (
            SELECT family_name, cp_search_fold(family_name) AS folded FROM (SELECT DISTINCT family_name FROM names) d
        ), search_family AS MATERIALIZED (
            SELECT f.family_name, fam.family, dmetaphone(fam.family) AS family_dm
            FROM family_folded f
            CROSS JOIN LATERAL (
                SELECT replace(f.folded, ' ', '') AS family
                UNION
                SELECT part FROM unnest(string_to_array(f.folded, ' ')) AS part
                WHERE length(part) >= 2 AND position(' ' IN f.folded) > 0
            ) fam
            WHERE fam.family <> ''
        )
        SELECT DISTINCT n.child_id, n.kind = 'current' AS is_current, sf.family, sf.family_dm, sg.given,
               sg.given_all, sg.given_dm, sg.given_canon, c.date_of_birth AS dob,
               extract(year FROM c.date_of_birth)::smallint AS birth_year
        FROM names n
        JOIN directory_child c ON c.id = n.child_id
        JOIN search_given sg ON sg.given_names = n.given_names
        JOIN search_family sf ON sf.family_name = n.family_name
        """,
    )


TOKEN_BATCH = 20000  # children whose names are read and hashed at a time


def _rebuild_search_tokens(cursor: Any) -> None:
    """The token index rows (``directory_searchtoken``) of the children in ``golden_ids``.

    The names, date of birth, postcodes and identifiers are read here (the one module that reads
    identifying fields; once they are encrypted, decrypted here), folded and hashed in Python under the
    index key (:mod:`contactpoint.directory.search_tokens`), COPYed into a temporary table, and only the
    rows that changed are written. The key never reaches the database.
    """
    hasher = search_tokens.Hasher(index_key())
    cursor.execute("SELECT id FROM golden_ids ORDER BY id")
    ids = [row[0] for row in cursor.fetchall()]
    cursor.execute("DROP TABLE IF EXISTS golden_tokens")
    cursor.execute("CREATE TEMP TABLE golden_tokens (child_id bigint, tokens bigint[]) ON COMMIT DROP")
    for start in range(0, len(ids), TOKEN_BATCH):
        rows = []
        for child_id, date_of_birth, nhs_number, upn, names, postcodes in _read_token_sources(
            cursor, ids[start:start + TOKEN_BATCH]
        ):
            tokens = search_tokens.child_tokens(
                hasher, names=names, date_of_birth=date_of_birth, postcodes=postcodes, nhs_number=nhs_number, upn=upn
            )
            if tokens:
                rows.append((child_id, tokens))
        with cursor.cursor.copy("COPY golden_tokens (child_id, tokens) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    _write_child_rows(cursor, "directory_searchtoken", ["child_id", "tokens"],
                      "SELECT child_id, tokens FROM golden_tokens")
    cursor.execute("DROP TABLE golden_tokens")


def _read_token_sources(
    cursor: Any, child_ids: list[int]
) -> list[tuple[int, datetime.date | None, str, str, list[FoldedName], list[str]]]:
    """What a child's tokens are made of: its folded names, date of birth, postcodes and identifiers."""
    cursor.execute(
        """
        SELECT c.id, c.date_of_birth, c.nhs_number, c.upn,
               (SELECT json_agg(json_build_array(n.kind, n.given_names, n.family_name))
                FROM directory_childname n WHERE n.child_id = c.id),
               (SELECT array_agg(DISTINCT a.postcode) FROM directory_childaddress a
                WHERE a.child_id = c.id AND a.postcode <> '')
        FROM directory_child c WHERE c.id = ANY(%s)
        """,
        [child_ids],
    )
    return [
        (child_id, dob, nhs or "", upn or "", _fold_names(names or ()), postcodes or [])
        for child_id, dob, nhs, upn, names, postcodes in cursor.fetchall()
    ]


def _fold_names(names: Sequence[Sequence[str]]) -> list[FoldedName]:
    """(kind, given_names, family_name) rows as the index rows the clear index would hold for them."""
    folded: dict[FoldedName, None] = {}
    for kind, given_names, family_name in names:
        for row in search_tokens.fold_name(given_names=given_names, family_name=family_name,
                                           is_current=kind == "current"):
            folded[row] = None
    return list(folded)


def _write_child_rows(cursor: Any, table: str, columns: list[str], select_sql: str) -> None:
    """Make ``table``'s rows of the children in ``golden_ids`` exactly those ``select_sql`` gives.

    Only the difference is written: most children a feed touches already have the right names,
    addresses and index rows, and deleting and re-inserting them would cost every index entry, the
    write-ahead log and a deferred foreign-key check each, for the same rows. ``select_sql`` must
    name its columns as ``columns`` and give each row once.
    """
    listed = ", ".join(columns)
    same = " AND ".join(f"n.{c} IS NOT DISTINCT FROM t.{c}" for c in columns if c != "child_id")
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
# The index rows above are read back only here, so that search (directory.search) scores folded keys and
# never touches the tables itself.


@dataclass(frozen=True)
class QueryNameKeys:
    """A typed name, folded exactly as the index folds names (``cp_search_fold``, ``dmetaphone``)."""

    given: str  # first given name
    given_all: str  # every given name, space-separated
    given_dm: str
    family: str  # the whole family name without spaces (SMITH-JONES → SMITHJONES)
    family_parts: tuple[str, ...]  # its parts when hyphenated or double-barrelled
    family_dm: str
    given_as_family: str  # the first given name, folded as a family name (for swapped names)
    given_as_family_dm: str


def search_query_keys(*, given_names: str, family_name: str) -> QueryNameKeys:
    """Fold a typed name into search keys, exactly as the index in use folds names.

    The clear index folds in SQL (one round trip); the token index in Python (no round trip).
    """
    if search_index_mode() == "tokens":
        given_all = search_tokens.fold(given_names or "")
        family_folded = search_tokens.fold(family_name or "")
        given_first = given_all.split(" ")[0] if given_all else ""
        return _query_name_keys(
            given_all, family_folded, search_tokens.phonetic(given_first),
            search_tokens.phonetic(family_folded.replace(" ", "")), search_tokens.phonetic(given_all.replace(" ", "")),
        )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT g.folded, f.folded, dmetaphone(split_part(g.folded, ' ', 1)),
                   dmetaphone(replace(f.folded, ' ', '')), dmetaphone(replace(g.folded, ' ', ''))
            FROM (SELECT cp_search_fold(%s) AS folded) g, (SELECT cp_search_fold(%s) AS folded) f
            """,
            [given_names or "", family_name or ""],
        )
        given_all, family_folded, given_dm, family_dm, given_as_family_dm = cursor.fetchone()
    return _query_name_keys(given_all, family_folded, given_dm, family_dm, given_as_family_dm)


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


# One index row of a candidate, as search scores it: read from the clear index, or in tokens mode folded
# in Python from the candidate's names (the same fields either way).
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
    """Candidate children for a search: the UNION of indexed lookups, then each candidate's keys.

    Every lookup uses an index (see ``SearchName.Meta.indexes``); none scans the table. Scoring is the
    caller's job (:mod:`contactpoint.directory.search`). In tokens mode the same lookups are token
    equality (:func:`_find_candidates_by_tokens`).
    """
    if search_index_mode() == "tokens":
        return _find_candidates_by_tokens(query)
    keys = query.keys
    lookups: list[str] = []
    params: dict[str, Any] = {"n": query.per_lookup}
    families = [f for f in (keys.family, *keys.family_parts) if len(f) >= 2]
    params.update(
        families=families, family=keys.family, family_dm=keys.family_dm or "-", canons=list(query.given_canons),
        given=keys.given, given_dm=keys.given_dm or "-", swapped=keys.given_as_family,
        swapped_canons=list(query.swapped_canons), family_initial=keys.family[:1], given_initial=keys.given[:1],
    )
    years = ""
    if query.birth_years is not None:
        years = " AND birth_year BETWEEN %(y0)s AND %(y1)s"
        params["y0"], params["y1"] = query.birth_years
    if query.dates_of_birth and families:
        # The date is right (as typed or day/month swapped): any close reading of either name will do.
        params["dobs"] = list(query.dates_of_birth)
        lookups.append(
            "SELECT child_id FROM directory_searchname WHERE dob = ANY(%(dobs)s) AND ("
            "family = ANY(%(families)s) OR family_dm = %(family_dm)s OR similarity(family, %(family)s) >= 0.3"
            " OR given_canon = ANY(%(canons)s) OR family = %(swapped)s)"
        )
    if years and families and keys.given:
        # The date may be wrong or partial: both names must agree closely.
        lookups += [
            # exact family name (or a part of it), same given name or nickname
            "SELECT child_id FROM directory_searchname WHERE family = ANY(%(families)s)"
            f" AND given_canon = ANY(%(canons)s){years}",
            # family name that sounds the same, with the same given name, a nickname or one that sounds alike
            "SELECT child_id FROM directory_searchname WHERE family_dm = %(family_dm)s"
            f" AND given_canon = ANY(%(canons)s){years}",
            "SELECT child_id FROM directory_searchname WHERE family_dm = %(family_dm)s"
            f" AND given_dm = %(given_dm)s{years}",
            # mistyped family name (but not its first letter), right given name
            "SELECT child_id FROM directory_searchname WHERE given_canon = ANY(%(canons)s)"
            f" AND left(family, 1) = %(family_initial)s{years} AND similarity(family, %(family)s) >= 0.2",
            # right family name, mistyped given name (but not its first letter)
            "SELECT child_id FROM directory_searchname WHERE family = ANY(%(families)s)"
            f" AND left(given, 1) = %(given_initial)s{years}"
            " AND (given_dm = %(given_dm)s OR similarity(given, %(given)s) >= 0.3)",
            # given and family names swapped
            "SELECT child_id FROM directory_searchname WHERE family = %(swapped)s"
            f" AND given_canon = ANY(%(swapped_canons)s){years}",
        ]
    elif years and families and not query.postcode:
        # Family name and a full date, no given name: the family name as typed, in that year.
        lookups.append(f"SELECT child_id FROM directory_searchname WHERE family = ANY(%(families)s){years}")
    if query.postcode:
        params["postcode"] = query.postcode
        lookups.append("SELECT child_id FROM directory_childaddress WHERE postcode = %(postcode)s")
    if query.nhs_number:
        params["nhs"] = query.nhs_number
        lookups.append("SELECT id AS child_id FROM directory_child WHERE nhs_number = %(nhs)s AND nhs_number <> ''")
    if query.upn:
        params["upn"] = query.upn
        lookups.append("SELECT id AS child_id FROM directory_child WHERE upn = %(upn)s AND upn <> ''")
    if not lookups:
        return []
    scope = ""
    if query.local_authority_id is not None:
        scope = " AND c.local_authority_id = %(la)s"
        params["la"] = query.local_authority_id
    union = " UNION ".join(f"({lookup} LIMIT %(n)s)" for lookup in lookups)
    sql = f"""
        WITH cand AS ({union})
        SELECT c.id, c.contactpoint_id, c.sex, c.date_of_birth, c.is_shielded, c.local_authority_id,
               c.nhs_number, c.upn,
               json_build_array(
                   (SELECT json_agg(json_build_array(s.is_current, s.family, s.family_dm, s.given, s.given_all,
                                                     s.given_dm, s.given_canon))
                    FROM directory_searchname s WHERE s.child_id = c.id),
                   (SELECT json_agg(json_build_array(a.postcode, a.is_current))
                    FROM directory_childaddress a WHERE a.child_id = c.id AND a.postcode <> ''))
        FROM cand JOIN directory_child c ON c.id = cand.child_id
        WHERE c.status = 'active'{scope}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        SearchCandidate(
            child_id=row[0],
            contactpoint_id=row[1],
            sex=row[2],
            date_of_birth=row[3],
            is_shielded=row[4],
            local_authority_id=row[5],
            nhs_number=row[6],
            upn=row[7],
            names=tuple(IndexedName(*name) for name in (row[8][0] or ())),
            postcodes=tuple((postcode, bool(current)) for postcode, current in (row[8][1] or ())),
        )
        for row in rows
    ]


def _find_candidates_by_tokens(query: CandidateQuery) -> list[SearchCandidate]:
    """The token index's candidates: each lookup is ``tokens && (its tokens)`` on the GIN index, capped.

    The candidates' names, postcodes and identifiers are then read from the child's own rows (here, the
    one module that reads them) and folded in Python, so scoring needs no clear index.
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
        SELECT c.id, c.contactpoint_id, c.sex, c.date_of_birth, c.is_shielded, c.local_authority_id,
               c.nhs_number, c.upn,
               (SELECT json_agg(json_build_array(n.kind, n.given_names, n.family_name))
                FROM directory_childname n WHERE n.child_id = c.id),
               (SELECT json_agg(json_build_array(a.postcode, a.is_current))
                FROM directory_childaddress a WHERE a.child_id = c.id AND a.postcode <> '')
        FROM directory_child c
        WHERE c.id = ANY(ARRAY(SELECT child_id FROM cand)) AND c.status = 'active'{scope}
    """
    # (An array of the candidates, not a join: the planner cannot know how few children the tokens have,
    # and for a join it would expect thousands and read the whole child table.)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        SearchCandidate(
            child_id=row[0],
            contactpoint_id=row[1],
            sex=row[2],
            date_of_birth=row[3],
            is_shielded=row[4],
            local_authority_id=row[5],
            nhs_number=row[6],
            upn=row[7],
            names=tuple(_fold_names(row[8] or ())),
            postcodes=tuple((postcode, bool(current)) for postcode, current in (row[9] or ())),
        )
        for row in rows
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
    """The fields a result list shows, for these children (by id)."""
    if not child_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, contactpoint_id, given_names, family_name, date_of_birth, sex, town, postcode, "
            "local_authority_id, is_shielded FROM directory_child WHERE id = ANY(%s)",
            [list(child_ids)],
        )
        return {row[0]: ListedChild(*row) for row in cursor.fetchall()}
