"""The misuse rules. Each reads audit events (plus, where it must, facts about the children and the
user's own family name and home postcode) and returns :class:`Finding`s; :mod:`.services` turns
findings into alerts. Nothing here writes.

Per-access rules (one finding per audit event): break glass, shielded access, own family name, own
address. Per-day rules (one finding per user per local day, its evidence growing while it is open):
out of area, search volume, fishing, out of hours. See docs/alerts.md for each rule's scenario.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Count
from django.utils import timezone

from contactpoint.access.models import Role, User
from contactpoint.alerts.config import RoleThresholds, thresholds_for
from contactpoint.alerts.models import HomePostcode, Rule
from contactpoint.audit.models import AuditEvent
from contactpoint.audit.tags import AuditAction
from contactpoint.core.validators import normalise_postcode
from contactpoint.directory.queries import ChildFactsForAlerting, children_facts_for_alerting

SEARCH = str(AuditAction.ACCESS_SEARCH)
VIEW = str(AuditAction.ACCESS_CHILD_VIEW)
BREAK_GLASS = str(AuditAction.ACCESS_BREAK_GLASS)
SUBJECT_ACCESS = str(AuditAction.EXPORT_SUBJECT_ACCESS)
# Audit actions by which a user sees a child (a search counts every child it listed).
ACCESS_ACTIONS = frozenset({SEARCH, VIEW, BREAK_GLASS, SUBJECT_ACCESS})
# Those the immediate receiver looks at as they are recorded.
IMMEDIATE_ACTIONS = ACCESS_ACTIONS


@dataclass(frozen=True)
class Finding:
    rule: Rule
    subject_username: str
    local_authority_id: int | None
    children: tuple[str, ...]
    events: tuple[int, ...]
    reason: str  # shown to the directory team: no child's personal data, no user's home postcode
    dedup_key: str
    window_start: datetime.datetime
    window_end: datetime.datetime


class Context:
    """Lookups shared by the rules in one evaluation: accounts, home postcodes, children's facts.

    Each is loaded on first use: the immediate evaluation that runs inside every search and record view
    usually needs only whether a listed child is shielded, and should cost one query, not four.
    """

    def __init__(self, events: Iterable[AuditEvent], *, with_caseloads: bool = True) -> None:
        self._events = list(events)
        self._with_caseloads = with_caseloads

    @cached_property
    def users(self) -> dict[str, User]:
        names = {e.actor_username for e in self._events if e.actor_username}
        return {u.username: u for u in User.objects.select_related("organisation").filter(username__in=names)}

    @cached_property
    def home_postcodes(self) -> dict[int, str]:
        return {
            h.user_id: normalise_postcode(h.postcode)
            for h in HomePostcode.objects.filter(user__in=[u.pk for u in self.users.values()])
        }

    @cached_property
    def facts(self) -> dict[str, ChildFactsForAlerting]:
        return children_facts_for_alerting(
            sorted({c for e in self._events for c in e.children}), with_caseloads=self._with_caseloads
        )

    def team_of(self, user: User | None, fallback: int | None = None) -> int | None:
        """The user's own area's team; for a user outside any area, the child's."""
        return (user.local_authority_id if user is not None else None) or fallback


def _fold(name: str) -> set[str]:
    """A family name as its folded parts (``O'Brien-Smith`` → {OBRIEN, SMITH, OBRIENSMITH})."""
    parts = [re.sub(r"[^A-Z]", "", p) for p in re.split(r"[\s\-]+", name.upper())]
    parts = [p for p in parts if len(p) >= 2]
    whole = "".join(parts)
    return set(parts) | ({whole} if whole else set())


def _is_own_team(user: User | None, event: AuditEvent, facts: ChildFactsForAlerting) -> bool:
    return (
        event.actor_role == Role.DIRECTORY_TEAM
        and user is not None
        and facts.local_authority_id is not None
        and user.local_authority_id == facts.local_authority_id
    )


def _local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


# Per-access rules ----------------------------------------------------------------------------------


def break_glass(event: AuditEvent, ctx: Context) -> list[Finding]:
    """Every break-glass view, and every subject access report of a shielded child: to the child's team."""
    revealing = event.action == BREAK_GLASS or (event.action == SUBJECT_ACCESS and event.details.get("shielded"))
    if not revealing:
        return []
    what = "saw a shielded child's hidden details" if event.action == BREAK_GLASS else (
        "produced a subject access report of a shielded child")
    findings = []
    for child in event.children:
        facts = ctx.facts.get(child)
        findings.append(Finding(
            rule=Rule.BREAK_GLASS, subject_username=event.actor_username,
            local_authority_id=facts.local_authority_id if facts else None, children=(child,),
            events=(event.sequence,), reason=f"{event.actor_username} {what}; reason given: {event.reason or '-'}",
            dedup_key=f"break_glass:{event.sequence}:{child}", window_start=event.occurred_at,
            window_end=event.occurred_at,
        ))
    return findings


def shielded_access(event: AuditEvent, ctx: Context) -> list[Finding]:
    """A shielded child found by a search or opened, by anyone but the child's own directory team."""
    if event.action not in (SEARCH, VIEW):
        return []
    findings = []
    for child in event.children:
        facts = ctx.facts.get(child)
        if facts is None or not facts.is_shielded:
            continue
        if _is_own_team(ctx.users.get(event.actor_username), event, facts):
            continue
        how = "opened the record of" if event.action == VIEW else "was shown, in search results,"
        findings.append(Finding(
            rule=Rule.SHIELDED_ACCESS, subject_username=event.actor_username,
            local_authority_id=facts.local_authority_id, children=(child,), events=(event.sequence,),
            reason=f"{event.actor_username} ({event.actor_role}, {event.actor_organisation or 'no organisation'}) "
            f"{how} a shielded child",
            dedup_key=f"shielded_access:{event.sequence}:{child}", window_start=event.occurred_at,
            window_end=event.occurred_at,
        ))
    return findings


def own_family_name(event: AuditEvent, ctx: Context) -> list[Finding]:
    """A search or view of a child whose family name is the user's own (a relative, an ex-partner's child)."""
    user = ctx.users.get(event.actor_username)
    if event.action not in (SEARCH, VIEW) or user is None or not _fold(user.last_name):
        return []
    own = _fold(user.last_name)
    hits = [c for c in event.children if c in ctx.facts and own & _fold(ctx.facts[c].family_name)]
    if not hits:
        return []
    return [Finding(
        rule=Rule.OWN_FAMILY_NAME, subject_username=user.username,
        local_authority_id=ctx.team_of(user, ctx.facts[hits[0]].local_authority_id), children=tuple(hits),
        events=(event.sequence,),
        reason=f"{user.username} {'opened' if event.action == VIEW else 'searched and was shown'} "
        f"{len(hits)} child(ren) sharing their own family name",
        dedup_key=f"own_family_name:{event.sequence}", window_start=event.occurred_at, window_end=event.occurred_at,
    )]


def own_address(event: AuditEvent, ctx: Context) -> list[Finding]:
    """A search or view of a child living at the user's own home postcode (a neighbour, their own household)."""
    user = ctx.users.get(event.actor_username)
    home = ctx.home_postcodes.get(user.pk) if user is not None else None
    if event.action not in (SEARCH, VIEW) or user is None or not home:
        return []
    hits = [
        c for c in event.children
        if c in ctx.facts and ctx.facts[c].postcode and normalise_postcode(ctx.facts[c].postcode) == home
    ]
    if not hits:
        return []
    return [Finding(
        rule=Rule.OWN_ADDRESS, subject_username=user.username,
        local_authority_id=ctx.team_of(user, ctx.facts[hits[0]].local_authority_id), children=tuple(hits),
        events=(event.sequence,),
        reason=f"{user.username} {'opened' if event.action == VIEW else 'searched and was shown'} "
        f"{len(hits)} child(ren) living at their own home postcode",
        dedup_key=f"own_address:{event.sequence}", window_start=event.occurred_at, window_end=event.occurred_at,
    )]


PER_ACCESS_RULES = (break_glass, shielded_access, own_family_name, own_address)


# Per-day rules -------------------------------------------------------------------------------------


def out_of_area(events: list[AuditEvent], ctx: Context) -> list[Finding]:
    """Records opened outside the user's local authority, of children not on their caseload (no involvement)."""
    found: dict[tuple[str, datetime.date], list[AuditEvent]] = defaultdict(list)
    children: dict[tuple[str, datetime.date], set[str]] = defaultdict(set)
    for event in events:
        user = ctx.users.get(event.actor_username)
        limits = thresholds_for(event.actor_role)
        if event.action != VIEW or user is None or limits is None or not limits.check_area:
            continue
        for child in event.children:
            facts = ctx.facts.get(child)
            if facts is None or facts.local_authority_id is None or facts.local_authority_id == user.local_authority_id:
                continue
            if user.pk in facts.involved_user_ids:
                continue  # on their caseload: a child who moved away, a school across the boundary
            key = (user.username, _local_day(event.occurred_at))
            found[key].append(event)
            children[key].add(child)
    return [
        Finding(
            rule=Rule.OUT_OF_AREA, subject_username=username, local_authority_id=ctx.team_of(ctx.users[username]),
            children=tuple(sorted(children[(username, day)])), events=tuple(e.sequence for e in evidence),
            reason=f"{username} opened the records of {len(children[(username, day)])} child(ren) outside their "
            f"area with no involvement of theirs, on {day:%d %B %Y}",
            dedup_key=f"out_of_area:{username}:{day.isoformat()}", window_start=evidence[0].occurred_at,
            window_end=evidence[-1].occurred_at,
        )
        for (username, day), evidence in found.items()
    ]


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
    end = timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))
    return start, end


def days_touched(since: datetime.datetime, until: datetime.datetime) -> list[datetime.date]:
    first, last = _local_day(since), _local_day(until - datetime.timedelta(microseconds=1))
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


def _day_counts(action: str, day: datetime.date, until: datetime.datetime) -> list[tuple[str, str, int]]:
    """(username, role, searches) per user on ``day`` up to ``until``, counted in the database."""
    start, end = _day_bounds(day)
    rows = (
        AuditEvent.objects.filter(action=action, occurred_at__gte=start, occurred_at__lt=min(end, until))
        .exclude(actor_username="")
        .values_list("actor_username", "actor_role")
        .annotate(n=Count("sequence"))
    )
    return [(u, r, n) for u, r, n in rows]


def search_volume(day: datetime.date, until: datetime.datetime) -> list[Finding]:
    """More searches in a day than the role's limit."""
    findings = []
    start, end = _day_bounds(day)
    for username, role, count in _day_counts(SEARCH, day, until):
        limits = thresholds_for(role)
        if limits is None or limits.max_searches_per_day is None or count <= limits.max_searches_per_day:
            continue
        user = User.objects.select_related("organisation").filter(username=username).first()
        evidence = list(
            AuditEvent.objects.filter(actor_username=username, action=SEARCH, occurred_at__gte=start,
                                      occurred_at__lt=min(end, until)).order_by("occurred_at", "sequence")
            .values_list("sequence", "occurred_at")
        )
        findings.append(Finding(
            rule=Rule.SEARCH_VOLUME, subject_username=username,
            local_authority_id=user.local_authority_id if user else None, children=(),
            events=tuple(s for s, _ in evidence),
            reason=f"{username} made {count} searches on {day:%d %B %Y}; the usual most for a {role} is "
            f"{limits.max_searches_per_day}",
            dedup_key=f"search_volume:{username}:{day.isoformat()}", window_start=evidence[0][1],
            window_end=evidence[-1][1],
        ))
    return findings


def _user_day_events(username: str, day: datetime.date, until: datetime.datetime) -> list[AuditEvent]:
    start, end = _day_bounds(day)
    return list(
        AuditEvent.objects.filter(actor_username=username, action__in=[SEARCH, VIEW, BREAK_GLASS],
                                  occurred_at__gte=start, occurred_at__lt=min(end, until))
        .order_by("occurred_at", "sequence")
    )


def fishing(day: datetime.date, until: datetime.datetime) -> list[Finding]:
    """Many searches in a day, few of them followed by opening a child they listed.

    Searches made less than ``follow_up_minutes`` before ``until`` are not judged yet.
    """
    findings = []
    for username, role, count in _day_counts(SEARCH, day, until):
        limits = thresholds_for(role)
        if limits is None or limits.fishing_min_searches is None or count < limits.fishing_min_searches:
            continue
        follow = datetime.timedelta(minutes=limits.follow_up_minutes)
        events = _user_day_events(username, day, until)
        views = [(e.occurred_at, set(e.children)) for e in events if e.action != SEARCH]
        searches = [e for e in events if e.action == SEARCH and e.occurred_at + follow <= until]
        if len(searches) < limits.fishing_min_searches:
            continue
        followed = sum(
            1 for s in searches
            if any(s.occurred_at < at <= s.occurred_at + follow and seen & set(s.children) for at, seen in views)
        )
        if followed / len(searches) >= limits.fishing_max_followed_share:
            continue
        user = User.objects.select_related("organisation").filter(username=username).first()
        findings.append(Finding(
            rule=Rule.FISHING, subject_username=username,
            local_authority_id=user.local_authority_id if user else None,
            children=tuple(sorted({c for s in searches for c in s.children})),
            events=tuple(s.sequence for s in searches),
            reason=f"{username} made {len(searches)} searches on {day:%d %B %Y} and opened a listed child after "
            f"only {followed} of them",
            dedup_key=f"fishing:{username}:{day.isoformat()}", window_start=searches[0].occurred_at,
            window_end=searches[-1].occurred_at,
        ))
    return findings


def is_out_of_hours(moment: datetime.datetime, limits: RoleThresholds) -> bool:
    if limits.working_hours is None:
        return False
    local = timezone.localtime(moment)
    start, end = limits.working_hours
    return local.weekday() not in limits.working_days or not (start <= local.time() < end)


def out_of_hours(events: list[AuditEvent], until: datetime.datetime) -> list[Finding]:
    """A burst of accesses (searches and views) out of the role's working hours.

    ``events`` are the window's access events; each user's whole local day is looked at, so a burst
    that straddles two runs is still seen.
    """
    findings = []
    candidates = {
        (e.actor_username, _local_day(e.occurred_at))
        for e in events
        if (limits := thresholds_for(e.actor_role)) is not None and limits.out_of_hours_burst > 0
        and is_out_of_hours(e.occurred_at, limits)
    }
    for username, day in sorted(candidates):
        day_events = _user_day_events(username, day, until)
        if not day_events:
            continue
        limits = thresholds_for(day_events[-1].actor_role)
        if limits is None or limits.out_of_hours_burst <= 0:
            continue
        late = [e for e in day_events if is_out_of_hours(e.occurred_at, limits)]
        span = datetime.timedelta(minutes=limits.out_of_hours_burst_minutes)
        in_bursts: dict[int, AuditEvent] = {}
        start = 0
        for end in range(len(late)):
            while late[end].occurred_at - late[start].occurred_at > span:
                start += 1
            if end - start + 1 >= limits.out_of_hours_burst:
                in_bursts.update((e.sequence, e) for e in late[start : end + 1])
        if not in_bursts:
            continue
        unique = sorted(in_bursts.values(), key=lambda e: (e.occurred_at, e.sequence))
        user = User.objects.select_related("organisation").filter(username=username).first()
        findings.append(Finding(
            rule=Rule.OUT_OF_HOURS, subject_username=username,
            local_authority_id=user.local_authority_id if user else None,
            children=tuple(sorted({c for e in unique for c in e.children})), events=tuple(e.sequence for e in unique),
            reason=f"{username} made {len(unique)} searches and views out of hours on {day:%d %B %Y}, at least "
            f"{limits.out_of_hours_burst} within {limits.out_of_hours_burst_minutes} minutes",
            dedup_key=f"out_of_hours:{username}:{day.isoformat()}", window_start=unique[0].occurred_at,
            window_end=unique[-1].occurred_at,
        ))
    return findings


def access_events(since: datetime.datetime, until: datetime.datetime) -> list[AuditEvent]:
    """The access events recorded in [since, until), by people (not system processes)."""
    return list(
        AuditEvent.objects.filter(action__in=sorted(ACCESS_ACTIONS), occurred_at__gte=since, occurred_at__lt=until)
        .exclude(actor_username="")
        .exclude(actor_role__in=["system", ""])
        .order_by("occurred_at", "sequence")
    )


def evaluate(since: datetime.datetime, until: datetime.datetime) -> list[Finding]:
    """Every rule over the events of [since, until) (per-day rules over the whole local days touched)."""
    events = access_events(since, until)
    ctx = Context(events)
    findings: list[Finding] = []
    for event in events:
        for rule in PER_ACCESS_RULES:
            findings += rule(event, ctx)
    findings += out_of_area(events, ctx)
    findings += out_of_hours(events, until)
    for day in days_touched(since, until):
        findings += search_volume(day, until)
        findings += fishing(day, until)
    return findings


def evaluate_immediately(event: AuditEvent) -> list[Finding]:
    """The rules that cannot wait for the scheduled run: break glass and shielded access, for one event."""
    if event.action not in IMMEDIATE_ACTIONS or not event.children or not event.actor_username:
        return []
    ctx = Context([event], with_caseloads=False)  # neither rule looks at caseloads
    return break_glass(event, ctx) + shielded_access(event, ctx)
