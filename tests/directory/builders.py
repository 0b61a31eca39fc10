"""Building a directory for tests the way production does: small CSV feeds loaded with ``load_feed``.

Also accounts for each role (from tests/access/factories.py) and a helper to read audit events.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from typing import Any

from access.factories import LocalAuthorityFactory, OrganisationFactory, UserFactory
from contactpoint.access.models import Role, User
from contactpoint.audit.models import AuditEvent
from contactpoint.directory.models import Child
from contactpoint.feeds.format import FEED_FIELDS
from contactpoint.feeds.models import SourceRecord, SourceSystem
from contactpoint.feeds.services import add_source
from contactpoint.ingest.pipeline import load_feed
from contactpoint.orgs.models import LocalAuthority

AREA = "E08000025"  # Birmingham: the area the test children live in
OTHER_AREA = "E08000026"
_files = itertools.count()


def child_row(srid: str, **overrides: str) -> dict[str, str]:
    """One feed row for a child, with plausible defaults; override any feed column."""
    row = {
        "source_record_id": srid, "given_names": "Amelia Rose", "family_name": "Okafor",
        "date_of_birth": "2015-03-04", "sex": "F", "address_line_1": "12 Elm Road", "town": "Birmingham",
        "postcode": "B15 2TT", "local_authority": AREA,
    }
    row.update(overrides)
    return row


def write_feed(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FEED_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in FEED_FIELDS})
    return path


def area(code: str = AREA) -> LocalAuthority:
    return LocalAuthorityFactory(
        code=code, name=f"Area {code}", directory_team_phone="0121 000 0000",
        directory_team_email=f"directory-team-{code.lower()}@example.org",
    )


def source(code: str = "nhs_demographics", trust: int = 9) -> SourceSystem:
    existing = SourceSystem.objects.filter(code=code).first()
    return existing or add_source(code=code, name=code.replace("_", " "), trust=trust)


def load_children(tmp_path: Path, rows: list[dict[str, str]], *, source_code: str = "nhs_demographics",
                  mode: str = "delta") -> dict[str, Child]:
    """Load ``rows`` as one feed; return each row's child by source record id."""
    area(AREA)
    area(OTHER_AREA)
    source(source_code)
    path = write_feed(tmp_path / f"feed-{next(_files)}.csv", rows)
    load_feed(source_code=source_code, path=path, mode=mode)
    srids = [r["source_record_id"] for r in rows]
    records = SourceRecord.objects.filter(source__code=source_code, source_record_id__in=srids)
    return {r.source_record_id: r.child for r in records.select_related("child")}


def user(role: str = Role.PRACTITIONER, *, area_code: str = AREA, **kwargs: Any) -> User:
    organisation = OrganisationFactory(local_authority=area(area_code))
    return UserFactory(role=role, organisation=organisation, **kwargs)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=str(action)).order_by("pk"))
