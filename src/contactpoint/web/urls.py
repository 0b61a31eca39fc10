"""Pages. Every one needs a signed-in user unless it is on the allow-list in
contactpoint.access.middleware (PUBLIC_VIEWS)."""

from django.urls import path

from contactpoint.web import child_pages, views

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
    path("involvements/<int:involvement_id>/flags", child_pages.involvement_flags, name="involvement-flags"),
    path("involvements/<int:involvement_id>/end", child_pages.involvement_end, name="involvement-end"),
]
