"""Writing audit events. Call :func:`record_event` inside the transaction of the action it records.

Recording is one INSERT and takes no lock beyond the row's own, so busy writers never queue behind
each other. Sealing events into the tamper-evident log happens later, in
:func:`contactpoint.audit.integrity.seal_events`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from contactpoint.audit.errors import AuditEventOutsideTransaction, PersonalDataInAuditEvent
from contactpoint.audit.models import AuditEvent
from contactpoint.audit.queries import EventFilter, iter_export_records
from contactpoint.audit.tags import AuditAction
from contactpoint.core.identifiers import is_valid_contactpoint_id, normalise_contactpoint_id


class Writer(Protocol):
    """Somewhere to write text: a file, standard output, a management command's output."""

    def write(self, text: str, /) -> Any: ...


class Actor(Protocol):
    """What the audit trail needs to know of whoever acted (a user, or a named system process)."""

    username: str
    role: str


# Keys of ``details`` that name personal data (the fields of a feed record and their usual synonyms).
# Matching is on the key normalised to lower case with ``-``/space as ``_``; an entry matches a key that
# equals it or contains it (``carer_family_name`` contains ``family_name``).
_PERSONAL_DATA_KEY_PARTS = (
    "given_name",
    "family_name",
    "forename",
    "surname",
    "first_name",
    "last_name",
    "middle_name",
    "full_name",
    "maiden_name",
    "date_of_birth",
    "birth_date",
    "birthdate",
    "address",
    "postcode",
    "post_code",
    "zip_code",
    "nhs_number",
    "phone",
    "email",
    "practitioner_name",
    "carer_name",
)
# Short keys that are personal data on their own but too short to look for inside longer keys.
_PERSONAL_DATA_KEYS = {"name", "dob", "upn", "sex", "gender", "town", "carer", "mobile", "telephone"}


def _personal_data_keys(value: Any, path: str = "details") -> list[str]:
    """Paths of keys in ``value`` (nested dicts and lists) that look like personal data."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            normal = re.sub(r"[\s\-]+", "_", str(key).strip().lower())
            if normal in _PERSONAL_DATA_KEYS or any(part in normal for part in _PERSONAL_DATA_KEY_PARTS):
                found.append(f"{path}.{key}")
            found += _personal_data_keys(inner, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            found += _personal_data_keys(inner, f"{path}[{index}]")
    return found


def _check_json_safe(value: Any, path: str = "details") -> None:
    """Details must round-trip through JSON unchanged, or the event's hash would not be reproducible."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: keys must be strings, not {key!r}")
            _check_json_safe(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _check_json_safe(inner, f"{path}[{index}]")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{path}: {value!r} is not a JSON number")
    elif not (value is None or isinstance(value, str | int | bool)):
        raise TypeError(f"{path}: {type(value).__name__} is not a JSON value (use str, int, list or dict)")
    if isinstance(value, str) and "\x00" in value:
        raise TypeError(f"{path}: NUL characters cannot be stored")


def record_event(
    *,
    action: AuditAction,
    actor: Any | None,
    children: Iterable[str] = (),
    outcome: str = "success",
    requester: str = "",
    client_address: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
    system_actor: str = "",
) -> AuditEvent:
    """Append one event to the audit trail.

    ``children`` are directory identifiers (checked), never personal data; ``details`` must not hold
    personal data either (counts, identifiers of batches, names of fields are fine): keys that name
    personal data (``given_names``, ``date_of_birth``, ``postcode``, …) are refused with
    :class:`PersonalDataInAuditEvent`. Must be called inside the transaction of the action, so that the
    action and its record commit or fail together (:class:`AuditEventOutsideTransaction` otherwise).
    """
    if not transaction.get_connection().in_atomic_block:
        raise AuditEventOutsideTransaction(
            "audit events must be recorded inside the transaction of the action they record"
        )
    details = dict(details or {})
    suspicious = _personal_data_keys(details)
    if suspicious:
        raise PersonalDataInAuditEvent(
            f"audit events must not hold personal data; refused {', '.join(suspicious)} "
            "(record the child's directory identifier in children=, and counts or field names in details)"
        )
    _check_json_safe(details)
    identifiers = set()
    for child in children:
        identifier = normalise_contactpoint_id(str(child))
        if not is_valid_contactpoint_id(identifier):
            # Also stops a name or other personal data being passed where an identifier belongs.
            raise PersonalDataInAuditEvent("children= takes directory identifiers only; refused a value")
        identifiers.add(identifier)
    organisation = ""
    if actor is not None and getattr(actor, "organisation", None) is not None:
        organisation = actor.organisation.code
    return AuditEvent.objects.create(
        occurred_at=timezone.now(),
        action=str(action),
        outcome=outcome,
        actor_username=getattr(actor, "username", "") if actor is not None else system_actor,
        actor_role=getattr(actor, "role", "") if actor is not None else "system",
        actor_organisation=organisation,
        requester=requester,
        children=sorted(identifiers),
        client_address=client_address,
        reason=reason,
        # Round-tripped so the stored value is exactly what the sealing step will hash.
        details=json.loads(json.dumps(details)),
    )


def export_events(
    *,
    criteria: EventFilter,
    out: Writer,
    reason: str,
    actor: Any | None = None,
    system_actor: str = "",
    client_address: str = "",
) -> int:
    """Write the matching events to ``out`` as JSON Lines for an auditor; returns how many.

    The export is itself an audit event, recorded in the same transaction (with the filter, never the
    events' content). A reason is required: exports leave the system.
    """
    if not reason.strip():
        raise ValueError("an export needs a reason")
    count = 0
    with transaction.atomic():
        record_event(
            action=AuditAction.AUDIT_EVENT_EXPORT,
            actor=actor,
            system_actor=system_actor,
            client_address=client_address,
            reason=reason,
            details={"filter": criteria.as_details()},
            children=[criteria.child] if criteria.child else [],
        )
        for record in iter_export_records(criteria):
            out.write(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")
            count += 1
    return count
