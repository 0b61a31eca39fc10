"""The JSON API (django-ninja). Every operation authenticates with a bearer token."""

from ninja import NinjaAPI

api = NinjaAPI(title="ContactPoint API", version="1", urls_namespace="api")


@api.get("/health", auth=None, summary="Liveness check (no data)")
def health(request) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"status": "ok"}
