"""The sign-in page offers each configured identity provider, and explains a refused single sign-on."""

import pytest

pytestmark = pytest.mark.django_db


def test_each_configured_provider_is_offered(client, settings):
    settings.CONTACTPOINT_OIDC_PROVIDERS = {"acme": {"label": "Acme NHS Trust"}}
    page = client.get("/sign-in").content.decode()
    assert 'href="/sign-in/sso/acme"' in page
    assert "Sign in with Acme NHS Trust" in page


def test_no_provider_no_offer(client, settings):
    settings.CONTACTPOINT_OIDC_PROVIDERS = {}
    assert "/sign-in/sso/" not in client.get("/sign-in").content.decode()


@pytest.mark.parametrize(("outcome", "words"), [("refused", "did not sign you in"), ("lapsed", "not current")])
def test_a_refused_single_sign_on_is_explained(client, outcome, words):
    assert words in client.get(f"/sign-in?sso={outcome}").content.decode()
