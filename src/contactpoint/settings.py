"""Django settings.

Settings fail closed: outside demo and test mode every secret comes from the environment and a missing
one stops the process. ``CONTACTPOINT_MODE`` is ``production`` (default), ``demo`` or ``test``.
"""

from __future__ import annotations

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
    "contactpoint.orgs",
    "contactpoint.access",
    "contactpoint.directory",
    "contactpoint.feeds",
    "contactpoint.matching",
    "contactpoint.audit",
    "contactpoint.ingest",
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
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {"default": ensure_server().django_database()}  # type: ignore[dict-item]
    DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"].setdefault("TEST", {})
DATABASES["default"]["TEST"]["NAME"] = os.environ.get("CONTACTPOINT_TEST_DATABASE", "test_contactpoint")
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
}
