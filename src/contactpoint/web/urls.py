"""Pages. Every one needs a signed-in user unless it is on the allow-list in
contactpoint.access.middleware (PUBLIC_VIEWS)."""

from django.urls import path

from contactpoint.web import views

urlpatterns = [
    path("", views.start, name="start"),
    path("sign-in", views.sign_in, name="sign-in"),
    path("sign-in/code", views.sign_in_code, name="sign-in-code"),
    path("sign-out", views.sign_out, name="sign-out"),
    path("signed-out", views.signed_out, name="signed-out"),
    path("session-expired", views.session_expired, name="session-expired"),
]
