"""Pages. Every one needs a signed-in user unless it is on the allow-list in
contactpoint.access.middleware (PUBLIC_VIEWS)."""

from django.urls import path

from contactpoint.web import (
    alert_pages,
    audit_pages,
    child_pages,
    feed_pages,
    merge_pages,
    review_pages,
    subject_access_pages,
    user_pages,
    views,
)

urlpatterns = [
    path("", views.start, name="start"),
    path("sign-in", views.sign_in, name="sign-in"),
    path("sign-in/code", views.sign_in_code, name="sign-in-code"),
    path("sign-out", views.sign_out, name="sign-out"),
    path("signed-out", views.signed_out, name="signed-out"),
    path("session-expired", views.session_expired, name="session-expired"),
    # Finding a child and their record (nothing typed about a child goes in a URL: the search posts).
    path("acting-for", child_pages.acting_for, name="acting-for"),
    path("search", child_pages.search, name="search"),
    path("children/<str:contactpoint_id>", child_pages.child, name="child"),
    path(
        "children/<str:contactpoint_id>/hidden-details", child_pages.child_hidden_details, name="child-hidden-details"
    ),
    path("children/<str:contactpoint_id>/involvements/add", child_pages.involvement_add, name="involvement-add"),
    path("children/<str:contactpoint_id>/shield", child_pages.child_shield, name="child-shield"),
    path("children/<str:contactpoint_id>/unshield", child_pages.child_unshield, name="child-unshield"),
    path(
        "children/<str:contactpoint_id>/subject-access",
        subject_access_pages.subject_access,
        name="child-subject-access",
    ),
    # Directory teams: merge two records of one child (the other's identifier is posted, never in the URL).
    path("children/<str:contactpoint_id>/merge", merge_pages.merge, name="child-merge"),
    path("children/<str:contactpoint_id>/merge/confirm", merge_pages.merge_confirm, name="child-merge-confirm"),
    path("involvements/<int:involvement_id>/flags", child_pages.involvement_flags, name="involvement-flags"),
    path("involvements/<int:involvement_id>/end", child_pages.involvement_end, name="involvement-end"),
    # Directory teams: the review queue, corrections and their undo.
    path("review", review_pages.queue, name="review-queue"),
    path("review/<int:pk>", review_pages.item, name="review-item"),
    path("source-records/<int:pk>/split", review_pages.split, name="split-record"),
    path("corrections/<int:pk>", review_pages.correction, name="correction"),
    path("corrections/<int:pk>/undo", review_pages.undo, name="correction-undo"),
    # Directory teams: what the feeds sent.
    path("feeds", feed_pages.batches, name="feeds"),
    path("feeds/<int:pk>", feed_pages.batch, name="feed-batch"),
    # Directory teams (their area) and administrators: accounts.
    path("users", user_pages.users, name="users"),
    path("users/new", user_pages.user_new, name="user-new"),
    path("users/<int:pk>", user_pages.user, name="user"),
    path("users/<int:pk>/suspend", user_pages.user_suspend, name="user-suspend"),
    path("users/<int:pk>/unsuspend", user_pages.user_unsuspend, name="user-unsuspend"),
    path("users/<int:pk>/renew", user_pages.user_renew, name="user-renew"),
    # Directory teams (their area) and auditors (all): access alerts.
    path("alerts", alert_pages.alerts, name="alerts"),
    path("alerts/<str:reference>", alert_pages.alert, name="alert"),
    # Auditors: the audit trail.
    path("audit", audit_pages.events, name="audit"),
    path("audit/verify", audit_pages.verify, name="audit-verify"),
    path("audit/export", audit_pages.export, name="audit-export"),
]
