"""Accounts for directory teams (their own area) and administrators: list, create, suspend, renew checks.

Every change is an :mod:`contactpoint.access.services` service, which asks the policy (a team may act
only in its own local authority, and give only the roles it may give) and writes the audit trail. A new
account's password and authenticator key are shown once, in the answer to the form, and never again.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from contactpoint.access import services
from contactpoint.access.models import Role, User
from contactpoint.access.permissions import GRANTABLE_ROLES, Permission
from contactpoint.access.policy import AccessDenied, Decision, require
from contactpoint.orgs.models import Organisation
from contactpoint.web.actor import actor
from contactpoint.web.forms import NewUserForm, RenewChecksForm, SuspendForm, UnsuspendForm

USERS_SHOWN = 200


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _in_scope(request: HttpRequest) -> tuple[Any, Any]:
    """(users, organisations) the signed-in manager may see: their local authority's, or all."""
    decision = require(request.user, Permission.ACCESS_USER_VIEW)
    users = User.objects.select_related("organisation").order_by("last_name", "first_name", "username")
    organisations = Organisation.objects.order_by("name")
    if decision.local_authority_scope is not None:
        users = users.filter(organisation__local_authority_id=decision.local_authority_scope)
        organisations = organisations.filter(local_authority_id=decision.local_authority_scope)
    return users, organisations


def _account(request: HttpRequest, pk: int) -> User:
    account = get_object_or_404(User.objects.select_related("organisation"), pk=pk)
    decision = require(request.user, Permission.ACCESS_USER_VIEW, local_authority_id=account.local_authority_id)
    if decision.local_authority_scope is not None and account.local_authority_id != decision.local_authority_scope:
        # An account in no local authority (an administrator, an auditor) is outside every team's area.
        raise AccessDenied(Decision(allowed=False, reason="outside your local authority"), Permission.ACCESS_USER_VIEW)
    return account


@require_safe
def users(request: HttpRequest) -> HttpResponse:
    accounts, _ = _in_scope(request)
    return render(request, "web/users.html", {"accounts": accounts[:USERS_SHOWN], "shown": USERS_SHOWN})


@require_http_methods(["GET", "HEAD", "POST"])
def user_new(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.ACCESS_USER_MANAGE)
    _, organisations = _in_scope(request)
    grantable = GRANTABLE_ROLES.get(Role(actor(request).role), frozenset())
    roles = [(value, label) for value, label in Role.choices if value in grantable]
    form = NewUserForm(
        _posted(request),
        roles=roles,
        organisations=[(str(o.pk), o.name) for o in organisations],
    )
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = services.create_user(
                actor=actor(request),
                username=data["username"],
                role=data["role"],
                organisation=organisations.get(pk=int(data["organisation"])),
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                checks_valid_until=data["checks_valid_until"],
            )
        except services.AccessError as exc:
            error = str(exc)[:1].upper() + str(exc)[1:]
        else:
            # Shown once, in this answer only: never stored in clear, never in a URL.
            response = render(request, "web/user_created.html", {"account": account})
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "web/user_new.html", {"form": form, "error": error})


def _user_page(request: HttpRequest, account: User, status: int = 200, **forms: Any) -> HttpResponse:
    context = {
        "account": account,
        "lapsed": account.lapsed_reasons(),
        "suspend_form": forms.get("suspend_form") or SuspendForm(),
        "unsuspend_form": forms.get("unsuspend_form") or UnsuspendForm(),
        "renew_form": forms.get("renew_form") or RenewChecksForm(),
        "error": forms.get("error", ""),
    }
    return render(request, "web/user.html", context, status=status)


@require_safe
def user(request: HttpRequest, pk: int) -> HttpResponse:
    return _user_page(request, _account(request, pk))


@require_POST
def user_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    form = SuspendForm(request.POST)
    if not form.is_valid():
        return _user_page(request, account, 400, suspend_form=form)
    services.suspend_user(actor=actor(request), user=account, reason=form.cleaned_data["reason"])
    return redirect("user", pk=pk)


@require_POST
def user_unsuspend(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    form = UnsuspendForm(request.POST)
    if not form.is_valid():
        return _user_page(request, account, 400, unsuspend_form=form)
    try:
        services.unsuspend_user(actor=actor(request), user=account, reason=form.cleaned_data["reason"])
    except services.AccessError as exc:
        return _user_page(request, account, 400, error=str(exc))
    return redirect("user", pk=pk)


@require_POST
def user_renew(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    form = RenewChecksForm(request.POST)
    if not form.is_valid():
        return _user_page(request, account, 400, renew_form=form)
    services.renew_checks(actor=actor(request), user=account, **form.cleaned_data)
    return redirect("user", pk=pk)
