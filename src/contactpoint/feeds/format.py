"""The feed format (docs/feeds.md): reading CSV and JSON Lines, and validating each row.

Validation never stops at the first problem in a file: every bad row is reported with its line number,
field and reason, and the good rows load.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import hmac
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contactpoint.core.validators import (
    is_valid_nhs_number,
    is_valid_postcode,
    is_valid_upn,
    normalise_nhs_number,
    normalise_postcode,
    normalise_upn,
)

CHILD_FIELDS = [
    "source_record_id",
    "given_names",
    "family_name",
    "former_family_names",
    "date_of_birth",
    "sex",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "nhs_number",
    "upn",
    "local_authority",
    "retention_condition",
]
CARER_FIELDS = ["carer_given_names", "carer_family_name", "carer_relationship", "carer_phone", "carer_email"]
INVOLVEMENT_FIELDS = [
    "service_type",
    "organisation_code",
    "organisation_name",
    "practitioner_name",
    "practitioner_role",
    "practitioner_phone",
    "practitioner_email",
    "involvement_start",
    "involvement_end",
    "consent_recorded",
]
FEED_FIELDS = CHILD_FIELDS + CARER_FIELDS + INVOLVEMENT_FIELDS

SERVICE_TYPES = {
    "school",
    "gp",
    "health_visitor",
    "social_care",
    "youth_offending",
    "sexual_health",
    "mental_health",
    "substance_misuse",
    "other",
}
RETENTION_CONDITIONS = {"care_leaver", "sen"}
MAX_LENGTHS = {
    "source_record_id": 64,
    "given_names": 100,
    "family_name": 100,
    "address_line_1": 120,
    "address_line_2": 120,
    "town": 120,
    "carer_given_names": 100,
    "carer_family_name": 100,
    "carer_relationship": 40,
    "organisation_code": 20,
    "organisation_name": 200,
    "practitioner_name": 100,
    "practitioner_role": 100,
    "carer_email": 254,
    "practitioner_email": 254,
    "carer_phone": 40,
    "practitioner_phone": 40,
}
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LA_CODE = re.compile(r"^[EWSN][0-9]{8}$")
_SOURCE_RECORD_ID = re.compile(r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$")
OLDEST_AGE_YEARS = 26


class FeedFormatError(Exception):
    """The file as a whole can't be read (wrong extension, not UTF-8, missing or unknown columns)."""


@dataclass(frozen=True)
class RowError:
    line_number: int
    source_record_id: str
    field: str
    reason: str


@dataclass
class ValidRow:
    line_number: int
    values: dict[str, str]
    content_hash: str = ""


@dataclass
class ParsedFeed:
    rows: list[ValidRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0


def _read_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    suffix = path.suffix.lower()
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedFormatError(f"{path.name}: not UTF-8 (byte {exc.start}): {exc.reason}") from exc
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        header = reader.fieldnames or []
        _check_columns(header, path)
        try:
            for record in reader:
                if None in record:
                    yield reader.line_num, {"__extra__": record[None]}
                    continue
                yield reader.line_num, dict(record)
        except csv.Error as exc:
            raise FeedFormatError(f"{path.name}: line {reader.line_num}: {exc}") from exc
    elif suffix in {".jsonl", ".ndjson"}:
        for line_number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_number, {"__json__": f"not valid JSON: {exc.msg}"}
                continue
            if not isinstance(obj, dict):
                yield line_number, {"__json__": "each line must be a JSON object"}
                continue
            unknown = sorted(set(obj) - set(FEED_FIELDS))
            if unknown:
                yield line_number, {"__unknown__": ", ".join(unknown), **obj}
                continue
            yield line_number, obj
    else:
        raise FeedFormatError(f"{path.name}: unknown feed format {suffix!r}; use .csv or .jsonl")


def _check_columns(header: Sequence[str], path: Path) -> None:
    unknown = [c for c in header if c not in FEED_FIELDS]
    if unknown:
        raise FeedFormatError(f"{path.name}: unknown column(s) {', '.join(unknown)} (see docs/feeds.md)")
    if "source_record_id" not in header:
        raise FeedFormatError(f"{path.name}: the required column source_record_id is missing")
    duplicates = sorted({c for c in header if header.count(c) > 1})
    if duplicates:
        raise FeedFormatError(f"{path.name}: duplicated column(s) {', '.join(duplicates)}")


def _parse_date(value: str) -> datetime.date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date as YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a real date") from None


def validate_row(raw: dict[str, Any], today: datetime.date) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Normalise one row; return its values and a list of (field, reason) problems."""
    problems: list[tuple[str, str]] = []
    values: dict[str, str] = {}
    for name in FEED_FIELDS:
        value = raw.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            else:
                problems.append((name, "must be text"))
                value = ""
        values[name] = " ".join(value.split())  # collapse runs of whitespace, strip

    for name, limit in MAX_LENGTHS.items():
        if len(values[name]) > limit:
            problems.append((name, f"longer than {limit} characters"))

    srid = values["source_record_id"]
    if not srid:
        problems.append(("source_record_id", "is required"))
    elif not _SOURCE_RECORD_ID.match(srid):
        problems.append(("source_record_id", "must be printable ASCII without leading or trailing spaces"))

    former = [n.strip() for n in values["former_family_names"].split(";") if n.strip()]
    if any(len(n) > 100 for n in former):
        problems.append(("former_family_names", "a name is longer than 100 characters"))
    values["former_family_names"] = ";".join(former)

    if values["date_of_birth"]:
        try:
            dob = _parse_date(values["date_of_birth"])
            if dob > today:
                problems.append(("date_of_birth", "is in the future"))
            elif dob.year < today.year - OLDEST_AGE_YEARS:
                problems.append(("date_of_birth", f"is more than {OLDEST_AGE_YEARS} years ago"))
        except ValueError as exc:
            problems.append(("date_of_birth", str(exc)))

    values["sex"] = values["sex"].upper()
    if values["sex"] not in {"", "F", "M", "U"}:
        problems.append(("sex", "must be F, M or U"))

    if values["postcode"]:
        if is_valid_postcode(values["postcode"]):
            values["postcode"] = normalise_postcode(values["postcode"])
        else:
            problems.append(("postcode", "is not a valid UK postcode"))
    if values["nhs_number"]:
        if is_valid_nhs_number(values["nhs_number"]):
            values["nhs_number"] = normalise_nhs_number(values["nhs_number"])
        else:
            problems.append(("nhs_number", "is not a valid NHS number (10 digits with a modulus 11 check digit)"))
    if values["upn"]:
        if is_valid_upn(values["upn"]):
            values["upn"] = normalise_upn(values["upn"])
        else:
            problems.append(("upn", "is not a valid unique pupil number (check letter does not agree)"))
    values["local_authority"] = values["local_authority"].upper()
    if values["local_authority"] and not _LA_CODE.match(values["local_authority"]):
        problems.append(("local_authority", "must be an ONS code such as E08000025"))
    if values["retention_condition"] and values["retention_condition"] not in RETENTION_CONDITIONS:
        problems.append(("retention_condition", "must be care_leaver or sen"))

    for name in ("carer_phone", "practitioner_phone"):
        if values[name] and not _PHONE.match(values[name]):
            problems.append((name, "is not a phone number"))
    for name in ("carer_email", "practitioner_email"):
        if values[name] and not _EMAIL.match(values[name]):
            problems.append((name, "is not an email address"))

    if values["service_type"] and values["service_type"] not in SERVICE_TYPES:
        problems.append(("service_type", f"must be one of {', '.join(sorted(SERVICE_TYPES))}"))
    has_service_detail = any(values[f] for f in INVOLVEMENT_FIELDS if f != "service_type")
    if has_service_detail and not values["service_type"]:
        problems.append(("service_type", "is required when other service fields are given"))
    dates: dict[str, datetime.date] = {}
    for name in ("involvement_start", "involvement_end"):
        if values[name]:
            try:
                dates[name] = _parse_date(values[name])
            except ValueError as exc:
                problems.append((name, str(exc)))
    if len(dates) == 2 and dates["involvement_end"] < dates["involvement_start"]:
        problems.append(("involvement_end", "is before involvement_start"))
    values["consent_recorded"] = values["consent_recorded"].upper()
    if values["consent_recorded"] not in {"", "Y", "N"}:
        problems.append(("consent_recorded", "must be Y, N or blank"))
    return values, problems


def content_hash(values: dict[str, str], key: bytes) -> str:
    """A keyed digest of the normalised row: an unchanged record re-sent has the same hash.

    Keyed (``core.sealing.content_hash_key``) so that the stored hash can't be tested against guesses of a
    child's details by anyone without the master key.
    """
    payload = "\x1f".join(values[name] for name in FEED_FIELDS)
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def parse_feed(path: Path, today: datetime.date, *, hash_key: bytes) -> ParsedFeed:
    """Read and validate a whole file. Raises FeedFormatError only when the file as a whole is unusable.

    ``hash_key`` keys each row's change-detection hash (:func:`content_hash`).
    """
    parsed = ParsedFeed()
    seen: dict[str, int] = {}
    for line_number, raw in _read_records(path):
        parsed.rows_read += 1
        srid = str(raw.get("source_record_id") or "")[:64]
        if "__extra__" in raw:
            parsed.errors.append(RowError(line_number, "", "(row)", "has more values than the header has columns"))
            continue
        if "__json__" in raw:
            parsed.errors.append(RowError(line_number, "", "(row)", str(raw["__json__"])))
            continue
        if "__unknown__" in raw:
            parsed.errors.append(RowError(line_number, srid, str(raw["__unknown__"]), "unknown field"))
            continue
        values, problems = validate_row(raw, today)
        if not problems and values["source_record_id"] in seen:
            first = seen[values["source_record_id"]]
            problems.append(("source_record_id", f"repeats the record on line {first} (must be unique in a file)"))
        if problems:
            parsed.errors.extend(RowError(line_number, srid, f, r) for f, r in problems)
            continue
        seen[values["source_record_id"]] = line_number
        parsed.rows.append(ValidRow(line_number, values, content_hash(values, hash_key)))
    return parsed


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
