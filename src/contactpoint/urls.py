"""Top-level URLs: the JSON API under /api/v1/ and the practitioner pages at the root."""

from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("contactpoint.api.urls")),
    path("", include("contactpoint.web.urls")),
]
