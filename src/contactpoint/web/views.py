"""Practitioner and directory-team pages (GOV.UK Frontend).

Views are thin: they validate a form, call :mod:`contactpoint.access` (or another domain app) and
render. Everything here except the pages allow-listed in ``contactpoint.access.middleware`` is reached
only by a signed-in, second-factor-verified user whose checks are current.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from contactpoint.access import signin
from contactpoint.access.middleware import ENDED_LAPSED
from contactpoint.access.permissions import Permission
from contactpoint.access.policy import holds
from contactpoint.web.forms import CodeForm, SignInForm


@dataclass(frozen=True)
class Task:
    title: str
    description: str
    permission: Permission
    url_name: str  # filled in as the pages are built; no link until the URL exists


# What the start page offers, in the order most users need it. Each shows only to roles that may do it.
TASKS = [
    Task(
        "Find a child",
        "Search the directory and see who is in contact with a child.",
        Permission.DIRECTORY_CHILD_SEARCH,
        "search",
    ),
    Task(
        "Review uncertain matches",
        "Decide whether records from different sources are the same child.",
        Permission.MATCHING_REVIEW_VIEW,
        "review-queue",
    ),
    Task(
        "Access alerts",
        "Review alerts about unusual use of the directory.",
        Permission.ALERTS_ALERT_VIEW,
        "alerts",
    ),
    Task(
        "Audit trail",
        "Search and verify the record of every search, view and change.",
        Permission.AUDIT_EVENT_VIEW,
        "audit",
    ),
    Task(
        "Feeds",
        "See what each source system sent and what happened to it.",
        Permission.FEEDS_BATCH_VIEW,
        "feeds",
    ),
    Task("Users", "Add, suspend and renew the accounts in your area.", Permission.ACCESS_USER_MANAGE, "users"),
    Task("Organisations", "Add and change organisations.", Permission.ORGS_ORGANISATION_MANAGE, "organisations"),
]


def _url_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@require_safe
def start(request: HttpRequest) -> HttpResponse:
    tasks = [
        {"title": t.title, "description": t.description, "url": _url_or_none(t.url_name)}
        for t in TASKS
        if holds(request.user, t.permission)
    ]
    return render(request, "web/start.html", {"tasks": tasks})


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("start")


@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.session.get(signin.SIGNED_IN_AT):
        return redirect("start")
    form = SignInForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = signin.check_password(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if result.ok:
            request.session["contactpoint.next"] = _safe_next(request, request.GET.get("next"))
            return redirect("sign-in-code")
        if result.outcome == signin.Outcome.LAPSED:
            error = (
                "Your access to ContactPoint is not current ("
                + result.reason.removeprefix("access lapsed: ")
                + "). Contact your local directory team."
            )
        elif result.outcome == signin.Outcome.NO_SECOND_FACTOR:
            error = "Your account has no authenticator app set up. Contact your local directory team."
        else:
            # The same words whether the username or the password was wrong.
            error = "Enter a correct username and password"
    if not error and request.GET.get("sso") in SSO_REFUSALS:
        error = SSO_REFUSALS[request.GET["sso"]]
    # Organisations with their own identity provider sign in there (access/oidc.py).
    providers = [
        {"name": name, "label": provider["label"]} for name, provider in settings.CONTACTPOINT_OIDC_PROVIDERS.items()
    ]
    return render(request, "web/sign_in.html", {"form": form, "error": error, "providers": providers}, status=200)


# What the single sign-on callback's ?sso= outcome means, in words (no detail that helps an attacker).
SSO_REFUSALS = {
    "refused": "Single sign-on did not sign you in. Try again, or sign in with your username and password.",
    "lapsed": "Your access to ContactPoint is not current. Contact your local directory team.",
}


@require_http_methods(["GET", "HEAD", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    if signin.pending_user(request) is None:
        return redirect("sign-in")
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        next_url = request.session.get("contactpoint.next") or reverse("start")
        result = signin.check_second_factor(request, code=form.cleaned_data["code"])
        if result.outcome == signin.Outcome.SIGNED_IN:
            return HttpResponseRedirect(_safe_next(request, next_url))
        if result.outcome in {signin.Outcome.PENDING_EXPIRED, signin.Outcome.LAPSED}:
            return redirect("sign-in")
        error = "The code is not correct. Enter the current code from your authenticator app"
    return render(request, "web/sign_in_code.html", {"form": form, "error": error})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    signin.sign_out(request, why="signed out")
    return redirect("signed-out")


@require_safe
def signed_out(request: HttpRequest) -> HttpResponse:
    lapsed = request.GET.get("why") == ENDED_LAPSED
    return render(request, "web/signed_out.html", {"lapsed": lapsed})


@require_safe
def session_expired(request: HttpRequest) -> HttpResponse:
    return render(request, "web/session_expired.html")
