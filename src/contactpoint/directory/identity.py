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

from django.db import connection

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
        return [tuple(row) for row in cursor.fetchall()]  # type: ignore[misc]


def read_source_identities(child_ids: Sequence[int] | None = None, *, record_ids: Sequence[int] | None = None,
                           active_only: bool = True) -> list[dict[str, object]]:
    """Identifying fields of source records, for matching: by child, by record, or all current ones."""
    clauses = ["TRUE"]
    params: list[object] = []
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
        cursor.execute("DELETE FROM directory_childname n USING golden_ids g WHERE n.child_id = g.id")
        cursor.execute(
            """
            INSERT INTO directory_childname (child_id, kind, given_names, family_name)
            SELECT c.id, 'current', c.given_names, c.family_name
            FROM directory_child c JOIN golden_ids g ON g.id = c.id
            UNION
            SELECT s.child_id, 'former', s.given_names, s.family_name FROM golden_src s
            JOIN directory_child c ON c.id = s.child_id
            WHERE (s.given_names, s.family_name) <> (c.given_names, c.family_name)
            UNION
            SELECT s.child_id, 'former', s.given_names, trim(f) FROM golden_src s,
                   unnest(string_to_array(s.former_family_names, ';')) AS f
            WHERE trim(f) <> ''
            ON CONFLICT DO NOTHING
            """
        )
        cursor.execute("DELETE FROM directory_childaddress a USING golden_ids g WHERE a.child_id = g.id")
        cursor.execute(
            """
            INSERT INTO directory_childaddress (child_id, is_current, address_line_1, address_line_2, town, postcode)
            SELECT DISTINCT ON (s.child_id, s.address_line_1, s.postcode)
                   s.child_id, (s.postcode = c.postcode AND s.address_line_1 = c.address_line_1),
                   s.address_line_1, s.address_line_2, s.town, s.postcode
            FROM golden_src s JOIN directory_child c ON c.id = s.child_id
            WHERE s.postcode <> '' OR s.address_line_1 <> ''
            ORDER BY s.child_id, s.address_line_1, s.postcode,
                     (s.postcode = c.postcode AND s.address_line_1 = c.address_line_1) DESC
            ON CONFLICT DO NOTHING
            """
        )
        cursor.execute("DROP TABLE golden_src")
