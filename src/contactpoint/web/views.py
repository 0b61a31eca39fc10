"""Practitioner and directory-team pages (GOV.UK Frontend)."""

from django.http import HttpRequest, HttpResponse


def start(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ContactPoint")
