"""Demo accounts: one per role, in a demo organisation of the demo local authority."""

from __future__ import annotations

from typing import Any

from contactpoint.access.services import add_organisation, create_demo_accounts
from contactpoint.orgs.models import Organisation

DEMO_ORGANISATION_CODE = "DEMO-LA"


def ensure_demo_accounts(*, out: Any, local_authority_code: str, local_authority_name: str) -> None:
    """Create the demo accounts if they do not exist yet, and print how to sign in with each."""
    organisation = Organisation.objects.filter(code=DEMO_ORGANISATION_CODE).first()
    if organisation is None:
        organisation = add_organisation(
            actor="demo-loader",
            code=DEMO_ORGANISATION_CODE,
            name="Demo children's services",
            local_authority_code=local_authority_code,
            local_authority_name=local_authority_name,
            kind=Organisation.Kind.LOCAL_AUTHORITY,
        )
    accounts = create_demo_accounts(actor="demo-loader", organisation=organisation)
    if not accounts:
        out.write(
            "Demo accounts already exist (their passwords were printed when they were created).\n"
            "To start afresh, stop the server and delete CONTACTPOINT_HOME.\n"
        )
        return
    out.write(
        "\nDemo accounts — sign in at http://127.0.0.1:8000/sign-in with the username and password,\n"
        "then the 6-digit code from an authenticator app set up with the TOTP secret\n"
        "(or: python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"):\n\n"
    )
    out.write(f"  {'username':<22}{'password':<38}TOTP secret\n")
    for account in accounts:
        out.write(f"  {account.user.username:<22}{account.password:<38}{account.totp_secret}\n")
    out.write("\nThese passwords are shown once. API tokens: contactpoint tokens create USERNAME\n\n")
