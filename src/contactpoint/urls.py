"""Top-level URLs: the JSON API under /api/v1/ and the practitioner pages at the root."""

from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("contactpoint.api.urls")),
    # Single sign-on with an organisation's OpenID Connect provider (/sign-in/sso/<provider>).
    path("", include("contactpoint.access.oidc")),
    path("", include("contactpoint.web.urls")),
]
