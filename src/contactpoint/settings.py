"""Django settings.

Settings fail closed: outside demo and test mode every secret comes from the environment and a missing
one stops the process. ``CONTACTPOINT_MODE`` is ``production`` (default), ``demo`` or ``test``.
"""

from __future__ import annotations

import copy
import datetime
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

from contactpoint.core.embedded_db import contactpoint_home, ensure_server

BASE_DIR = Path(__file__).resolve().parent
HOME = contactpoint_home()
# A home created by `contactpoint serve --demo` is marked as a demo home, so that every later command
# run against it (links export, users add, …) is in demo mode too without setting anything.
DEMO_HOME_MARKER = HOME / "DEMO-HOME"
MODE = os.environ.get("CONTACTPOINT_MODE") or ("demo" if DEMO_HOME_MARKER.exists() else "production")
if MODE not in {"production", "demo", "test"}:
    raise RuntimeError(f"CONTACTPOINT_MODE must be production, demo or test, not {MODE!r}")
RELAXED = MODE in {"demo", "test"}


def _secret(name: str, *, demo_default: str) -> str:
    value = os.environ.get(name)
    if value:
        return value
    if RELAXED:
        # Demo and test only: a fixed, obviously-unsafe value, never used in production mode.
        return demo_default
    raise RuntimeError(
        f"{name} must be set in the environment in production mode (CONTACTPOINT_HOME={HOME}); "
        "for a demo, run 'contactpoint serve --demo'"
    )


SECRET_KEY = _secret("CONTACTPOINT_SECRET_KEY", demo_default="demo-and-test-only-not-a-secret")
DEBUG = os.environ.get("CONTACTPOINT_DEBUG") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("CONTACTPOINT_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
if MODE == "test":
    ALLOWED_HOSTS.append("testserver")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "contactpoint.core",
    "contactpoint.keystore",
    "contactpoint.orgs",
    "contactpoint.access",
    "contactpoint.directory",
    "contactpoint.feeds",
    "contactpoint.matching",
    "contactpoint.audit",
    "contactpoint.ingest",
    "contactpoint.retention",
    "contactpoint.alerts",
    "contactpoint.subject_access",
    "contactpoint.synth",
    "contactpoint.api",
    "contactpoint.web",
    "contactpoint.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Every page needs a signed-in, verified, current user unless allow-listed there; session limits.
    "contactpoint.access.middleware.SignInRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a lockout during sign-in into the lockout page (must come last).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "contactpoint.urls"
WSGI_APPLICATION = "contactpoint.wsgi.application"
AUTH_USER_MODEL = "access.User"
LOGIN_URL = "/sign-in"
# django-axes first, so that a locked-out username is refused before its password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# Database: DATABASE_URL if given, otherwise the embedded server under CONTACTPOINT_HOME.
# The key store (contactpoint.keystore: the per-child data keys) is a database of its own, `keys`, so that
# a backup of the main database holds no key (docs/retention.md): CONTACTPOINT_KEYSTORE_URL if given,
# otherwise a database named "<main database>_keys" on the main database's server. `contactpoint migrate`
# creates it when missing and migrates both; the embedded server creates it when it starts.
KEYSTORE_URL = os.environ.get("CONTACTPOINT_KEYSTORE_URL", "")
TEST_DATABASE_NAME = os.environ.get("CONTACTPOINT_TEST_DATABASE", "test_contactpoint")
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {"default": ensure_server(key_store=not KEYSTORE_URL).django_database()}  # type: ignore[dict-item]
    DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"].setdefault("TEST", {})
DATABASES["default"]["TEST"]["NAME"] = TEST_DATABASE_NAME
if KEYSTORE_URL:
    DATABASES["keys"] = dj_database_url.parse(KEYSTORE_URL, conn_max_age=60)
else:
    DATABASES["keys"] = copy.deepcopy(DATABASES["default"])
    DATABASES["keys"]["NAME"] = f"{DATABASES['default']['NAME']}_keys"
# Derived from the main test database's name, so parallel runs with different names never share one.
DATABASES["keys"]["TEST"] = {"NAME": f"{TEST_DATABASE_NAME}_keys"}
DATABASE_ROUTERS = ["contactpoint.keystore.router.KeyStoreRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
if MODE == "test":
    # Argon2 is deliberately slow; tests that are not about hashing use a fast hasher, and
    # tests/access checks that production uses Argon2.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Sessions: 15 minutes idle (the cookie age is refreshed on every request), 12 hours in total
# (enforced by contactpoint.access.middleware).
SESSION_COOKIE_AGE = 15 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_LIMIT_SECONDS = 12 * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_SECURE = not RELAXED
CSRF_COOKIE_SECURE = not RELAXED
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Lockout (django-axes): five wrong passwords or codes for one username, or from one client address,
# lock it out for 30 minutes (per address too, so that one client cannot try a password against many
# usernames). Behind a proxy, the proxy must pass the real client address (see docs/security.md).
# A successful sign-in clears the count.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# Content Security Policy (django-csp): our own origin only, no inline code. The one inline script
# (GOV.UK Frontend's js-enabled class on <body>) carries a per-response nonce. tests/web asserts the
# exact header.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "base-uri": [SELF],
        "connect-src": [SELF],
        "font-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "img-src": [SELF],
        "object-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
    },
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STATICFILES_DIRS = [p for p in [BASE_DIR / "web" / "assets"] if p.exists()]

OTP_TOTP_ISSUER = "ContactPoint"

# Single sign-on (OpenID Connect, contactpoint.access.oidc): off unless providers are named. For each
# NAME in CONTACTPOINT_OIDC_PROVIDERS (comma-separated), CONTACTPOINT_OIDC_<NAME>_ISSUER, _CLIENT_ID and
# _CLIENT_SECRET (required; no fallback secret outside demo and test), and optionally:
#   _MATCH          how an identity finds its account: subject (default: a stored issuer+subject pair),
#                   email (a verified email claim) or username (the _USERNAME_CLAIM, preferred_username)
#   _ORGANISATIONS  organisation codes whose accounts may use this provider (default: any organisation)
#   _MFA_AMR, _MFA_ACR  amr/acr values that count as the second factor (default: none, so TOTP is still asked)
#   _LABEL          the name shown on the sign-in page
# An account is never created by signing in. See docs/security.md.
def _oidc_providers() -> dict[str, dict[str, object]]:
    providers: dict[str, dict[str, object]] = {}
    for name in [n.strip().lower() for n in os.environ.get("CONTACTPOINT_OIDC_PROVIDERS", "").split(",")]:
        if not name:
            continue
        prefix = f"CONTACTPOINT_OIDC_{name.upper().replace('-', '_')}_"

        def setting(key: str, default: str = "", prefix: str = prefix) -> str:
            return os.environ.get(prefix + key, default).strip()

        def listed(key: str, prefix: str = prefix) -> list[str]:
            return [v.strip() for v in os.environ.get(prefix + key, "").split(",") if v.strip()]

        issuer, client_id = setting("ISSUER"), setting("CLIENT_ID")
        if not issuer or not client_id:
            raise RuntimeError(f"{prefix}ISSUER and {prefix}CLIENT_ID must be set for single sign-on provider {name}")
        if not issuer.startswith("https://") and not RELAXED:
            raise RuntimeError(f"{prefix}ISSUER must be an https:// address in production mode")
        providers[name] = {
            "issuer": issuer,
            "client_id": client_id,
            "client_secret": _secret(prefix + "CLIENT_SECRET", demo_default="demo-and-test-only-not-a-secret"),
            "match": setting("MATCH", "subject"),
            "username_claim": setting("USERNAME_CLAIM", "preferred_username"),
            "organisations": listed("ORGANISATIONS"),
            "mfa_amr": listed("MFA_AMR"),
            "mfa_acr": listed("MFA_ACR"),
            "label": setting("LABEL", name),
        }
    return providers


CONTACTPOINT_OIDC_PROVIDERS = _oidc_providers()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CONTACTPOINT_LOG_LEVEL", "WARNING")},
}

# Domain configuration (documented in docs/configuration.md).
CONTACTPOINT = {
    # Refuse a full-mode feed that would retire more than this share of a source's current records.
    "FULL_FEED_MAX_RETIRE_SHARE": float(os.environ.get("CONTACTPOINT_FULL_FEED_MAX_RETIRE_SHARE", "0.10")),
    "FEED_REPORT_DIR": HOME / "feed-reports",
    # Retention (docs/retention.md): kept under 18, or under 25 where a source asserts a condition;
    # then archived for 6 years, then erased.
    "RETENTION_ADULT_AGE": int(os.environ.get("CONTACTPOINT_RETENTION_ADULT_AGE", "18")),
    "RETENTION_EXTENDED_AGE": int(os.environ.get("CONTACTPOINT_RETENTION_EXTENDED_AGE", "25")),
    "RETENTION_EXTENDED_CONDITIONS": ("care_leaver", "sen"),
    "RETENTION_ARCHIVE_YEARS": int(os.environ.get("CONTACTPOINT_RETENTION_ARCHIVE_YEARS", "6")),
}
