"""Feed load history for directory teams: what each source sent, what happened, and the rows refused.

Batches and rejected rows hold no child data (a rejected row is a line number, a field and a reason),
so the pages read the feeds models directly, behind the ``feeds:batch:view`` permission.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from contactpoint.access.permissions import Permission
from contactpoint.access.policy import require
from contactpoint.feeds.models import FeedBatch

BATCHES_SHOWN = 100
REJECTED_ROWS_SHOWN = 500

# The load summary's counts, in the order a reader wants them, with their labels.
SUMMARY_COUNTS = [
    ("rows_read", "Rows read"),
    ("accepted", "Rows accepted"),
    ("rejected", "Rows rejected"),
    ("new_records", "New records"),
    ("changed", "Changed records"),
    ("unchanged", "Unchanged records"),
    ("retired", "Records no longer sent"),
    ("new_children", "New children"),
    ("linked_to_existing", "Linked to children already known"),
    ("sent_to_review", "Sent to review"),
]


@require_safe
def batches(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.FEEDS_BATCH_VIEW)
    rows = FeedBatch.objects.select_related("source").order_by("-started_at", "-pk")[:BATCHES_SHOWN]
    return render(request, "web/feeds.html", {"batches": rows, "shown": BATCHES_SHOWN})


@require_safe
def batch(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Permission.FEEDS_BATCH_VIEW)
    loaded = get_object_or_404(FeedBatch.objects.select_related("source"), pk=pk)
    counts = [(label, loaded.summary.get(key)) for key, label in SUMMARY_COUNTS if key in loaded.summary]
    rejected = loaded.rejected_rows.all()
    context = {
        "batch": loaded,
        "counts": counts,
        "rejected": rejected[:REJECTED_ROWS_SHOWN],
        "rejected_total": rejected.count(),
        "shown": REJECTED_ROWS_SHOWN,
    }
    return render(request, "web/feed_batch.html", context)
