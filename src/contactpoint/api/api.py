"""The JSON API (django-ninja). Every operation authenticates with a bearer token."""

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from contactpoint.access.api_auth import BearerTokenAuth
from contactpoint.access.policy import AccessDenied
from contactpoint.access.services import record_denial
from contactpoint.access.signin import client_address
from contactpoint.api import children
from contactpoint.directory.errors import ChildNotFound, DirectoryError, InvolvementNotFound

# auth=BearerTokenAuth() makes a bearer token the default for every operation; an operation that
# opts out (auth=None) must be on the allow-list in contactpoint.access.middleware (PUBLIC_VIEWS).
api = NinjaAPI(title="ContactPoint API", version="1", urls_namespace="api", auth=BearerTokenAuth())


@api.exception_handler(AccessDenied)
def access_denied(request: HttpRequest, exc: AccessDenied) -> HttpResponse:
    """A policy refusal: recorded in the audit trail, answered 403 with the reason."""
    record_denial(
        actor=getattr(request, "auth", None),
        permission=exc.permission,
        decision=exc.decision,
        client_address=client_address(request),
    )
    return api.create_response(request, {"detail": exc.reason}, status=403)


@api.exception_handler(DirectoryError)
def directory_error(request: HttpRequest, exc: DirectoryError) -> HttpResponse:
    """Input the directory can't act on: 404 for an unknown child or involvement, otherwise 400.

    The message says what to change; it never carries a child's data.
    """
    status = 404 if isinstance(exc, ChildNotFound | InvolvementNotFound) else 400
    return api.create_response(request, {"detail": str(exc)}, status=status)


api.add_router("", children.router)


@api.get("/health", auth=None, summary="Liveness check (no data)")
def health(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}
