"""The real URLs plus one page that lets the access policy's refusal escape (for test_pages)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from contactpoint.access.permissions import Permission
from contactpoint.access.policy import require
from contactpoint.urls import urlpatterns as real_urlpatterns


def audit_page(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.AUDIT_EVENT_VIEW)
    return HttpResponse("the audit trail")


urlpatterns = [path("test-audit", audit_page, name="test-audit"), *real_urlpatterns]
