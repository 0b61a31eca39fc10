"""Response headers and settings that a reviewer would check first."""

import re

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

EXPECTED_CSP = {
    "default-src": ["'self'"],
    "base-uri": ["'self'"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "img-src": ["'self'"],
    "object-src": ["'none'"],
    "script-src": ["'self'", "'nonce-{nonce}'"],
    "style-src": ["'self'"],
}


def parse_csp(header):
    """Directive → sources. django-csp does not promise an order of directives, only their content."""
    directives = [part.split() for part in header.split("; ")]
    parsed = {d[0]: d[1:] for d in directives}
    assert len(parsed) == len(directives), "a directive appears twice"
    return parsed


def test_the_exact_content_security_policy(client):
    response = client.get("/sign-in")
    header = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", header).group(1)
    expected = {k: [v.format(nonce=nonce) for v in values] for k, values in EXPECTED_CSP.items()}
    assert parse_csp(header) == expected
    # The one inline script carries that nonce; nothing is allowed inline otherwise.
    page = response.content.decode()
    assert page.count("<script") == 2
    assert f'<script nonce="{nonce}">' in page
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
    assert " style=" not in page and "onclick" not in page


def test_the_nonce_changes_on_every_response(client):
    first = client.get("/sign-in")["Content-Security-Policy"]
    second = client.get("/sign-in")["Content-Security-Policy"]
    assert first != second


def test_other_protective_headers(client):
    response = client.get("/sign-in")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_test_mode_keeps_argon2_for_existing_hashes():
    assert settings.PASSWORD_HASHERS[-1] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_argon2_hashes_in_production_mode(tmp_path):
    """Load the settings module afresh in production mode and check the hasher list."""
    import os
    import subprocess
    import sys

    env = dict(
        os.environ,
        CONTACTPOINT_MODE="production",
        CONTACTPOINT_SECRET_KEY="x" * 50,
        DATABASE_URL="postgresql://unused@127.0.0.1:1/unused",
        CONTACTPOINT_HOME=str(tmp_path),
    )
    code = "import contactpoint.settings as s; print(s.PASSWORD_HASHERS)"
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "['django.contrib.auth.hashers.Argon2PasswordHasher']"


def test_cookies_are_secure_outside_demo_and_test(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(
        os.environ,
        CONTACTPOINT_MODE="production",
        CONTACTPOINT_SECRET_KEY="x" * 50,
        DATABASE_URL="postgresql://unused@127.0.0.1:1/unused",
        CONTACTPOINT_HOME=str(tmp_path),
    )
    code = "import contactpoint.settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.DEBUG)"
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "True True False"
