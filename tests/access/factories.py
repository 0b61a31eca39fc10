"""Factories for accounts and organisations (shared by tests/access and tests/web)."""

from __future__ import annotations

import base64
import datetime

import factory
import pyotp
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access.models import Role, User
from contactpoint.orgs.models import LocalAuthority, Organisation

PASSWORD = "correct horse battery staple"


def in_a_year() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=365)


class LocalAuthorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocalAuthority
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"E09{n:06d}")
    name = factory.Sequence(lambda n: f"Borough {n}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    code = factory.Sequence(lambda n: f"ORG{n:05d}")
    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = Organisation.Kind.LOCAL_AUTHORITY
    local_authority = factory.SubFactory(LocalAuthorityFactory)


class UserFactory(factory.django.DjangoModelFactory):
    """A current account: all three checks valid for a year, password :data:`PASSWORD`."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.PRACTITIONER
    organisation = factory.SubFactory(OrganisationFactory)
    employer_authorised_until = factory.LazyFunction(in_a_year)
    background_check_until = factory.LazyFunction(in_a_year)
    training_until = factory.LazyFunction(in_a_year)

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def totp(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        """Every account has an authenticator unless made with ``totp=False``."""
        if create and extracted is not False:
            TOTPDevice.objects.create(user=self, name="authenticator app", confirmed=True)


def totp_code(user: User) -> str:
    """The current code from ``user``'s authenticator app."""
    device = TOTPDevice.objects.get(user=user)
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now()


def sign_in(client: Client, user: User, *, password: str = PASSWORD) -> None:
    """Sign in through the real pages: password, then the TOTP code."""
    response = client.post("/sign-in", {"username": user.username, "password": password})
    assert response.status_code == 302 and response["Location"] == "/sign-in/code", response
    response = client.post("/sign-in/code", {"code": totp_code(user)})
    assert response.status_code == 302, response
