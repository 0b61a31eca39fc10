"""No page or API operation answers an anonymous visitor unless it is on the commented allow-list.

The URL patterns are discovered from the URL configuration, not listed by hand, so a page added
tomorrow is checked tomorrow.
"""

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from access.factories import UserFactory
from contactpoint.access.middleware import PUBLIC_VIEWS, SELF_AUTHENTICATING_NAMESPACES

pytestmark = pytest.mark.django_db

SAMPLE_VALUES = {"int": "1", "str": "x", "slug": "x", "uuid": str(uuid.uuid4()), "path": "x/y"}
METHODS = ["get", "post", "put", "patch", "delete"]


def walk(patterns, prefix="", namespaces=()):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = ":".join([*namespaces, entry.name]) if entry.name else f"<unnamed {prefix}{entry.pattern}>"
            yield "/" + prefix + str(entry.pattern), name, namespaces


def concrete(route):
    """A URL that the route matches, with a sample value for each converter."""
    if route.startswith("/^") or "(?P" in route:
        pytest.fail(f"regex URL pattern {route}: give it a sample URL in this test")
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_VALUES[m.group(1) or "str"], route)


ALL_URLS = sorted(walk(get_resolver().url_patterns))
PROTECTED = [u for u in ALL_URLS if u[1] not in PUBLIC_VIEWS]
SESSION_PAGES = [u for u in PROTECTED if not set(u[2]) & set(SELF_AUTHENTICATING_NAMESPACES)]
TOKEN_OPERATIONS = [u for u in PROTECTED if set(u[2]) & set(SELF_AUTHENTICATING_NAMESPACES)]


def test_the_walk_finds_the_pages():
    names = {name for _, name, _ in ALL_URLS}
    assert {"start", "sign-in", "sign-out", "api:health"} <= names


def test_every_allow_listed_view_exists_and_says_why():
    names = {name for _, name, _ in ALL_URLS}
    for name, why in PUBLIC_VIEWS.items():
        assert name in names, f"{name} is allow-listed but no URL has that name: remove it from the list"
        assert len(why) > 10


def test_the_public_pages_answer_anonymously():
    client = Client()
    for route, name, _ in ALL_URLS:
        if name in PUBLIC_VIEWS and not name.startswith("api:"):
            assert client.get(concrete(route)).status_code in {200, 302}, name


@pytest.mark.parametrize("route,name,namespaces", TOKEN_OPERATIONS, ids=[u[1] for u in TOKEN_OPERATIONS])
def test_no_api_operation_answers_without_a_valid_token(route, name, namespaces):
    url = concrete(route)
    client = Client()
    statuses = {method: getattr(client, method)(url).status_code for method in METHODS}
    assert set(statuses.values()) <= {401, 405}, f"{url} answered without a token: {statuses}"
    assert 401 in statuses.values(), f"{url} never asked for a token: {statuses}"
    with_bad_token = Client(HTTP_AUTHORIZATION="Bearer cp_not-a-token")
    assert {getattr(with_bad_token, m)(url).status_code for m in METHODS} <= {401, 405}


@pytest.mark.parametrize("route,name,namespaces", SESSION_PAGES, ids=[u[1] for u in SESSION_PAGES])
def test_no_page_answers_an_anonymous_visitor(route, name, namespaces):
    client = Client()
    url = concrete(route)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code == 302, f"{method.upper()} {url} answered {response.status_code} anonymously"
        assert response["Location"].startswith(reverse("sign-in")), f"{url} did not send the visitor to sign in"


@pytest.mark.parametrize("route,name,namespaces", SESSION_PAGES, ids=[u[1] for u in SESSION_PAGES])
def test_no_page_answers_a_user_who_gave_only_a_password(route, name, namespaces):
    client = Client()
    client.force_login(UserFactory())
    response = client.get(concrete(route))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("sign-in"))


def test_every_api_operation_requires_a_token_unless_allow_listed():
    """Belt and braces for the HTTP walk above: look at each django-ninja operation's own auth."""
    from contactpoint.api.api import api

    public_functions = {name.removeprefix("api:") for name in PUBLIC_VIEWS if name.startswith("api:")}
    # The operations as mounted on the API (django-ninja binds a copy of each router's operations to the
    # API and gives the copies the API's default auth; the routers' own operations keep theirs unset).
    operations = [
        (f"{bound.prefix}{path}", operation)
        for bound in api._get_bound_routers()
        for path, path_view in bound.path_operations.items()
        for operation in path_view.operations
    ]
    assert operations
    for path, operation in operations:
        if not operation.auth_callbacks:
            assert operation.view_func.__name__ in public_functions, f"API operation {path} has no authentication"


def test_the_api_takes_bearer_tokens_by_default():
    from contactpoint.access.api_auth import BearerTokenAuth
    from contactpoint.api.api import api

    defaults = api.auth if isinstance(api.auth, list | tuple) else [api.auth]
    assert any(isinstance(auth, BearerTokenAuth) for auth in defaults)
