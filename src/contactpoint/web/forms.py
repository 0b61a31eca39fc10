"""Forms for the sign-in pages."""

from django import forms

from contactpoint.core import identifiers


class SignInForm(forms.Form):
    username = forms.CharField(max_length=150, error_messages={"required": "Enter your username"})
    password = forms.CharField(
        max_length=200,
        strip=False,
        widget=forms.PasswordInput,
        error_messages={"required": "Enter your password"},
    )


class CodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{3}\s?\d{3}\s*$",
        error_messages={
            "required": "Enter the 6-digit code from your authenticator app",
            "invalid": "The code must be 6 digits",
        },
    )


# Finding a child and their record ------------------------------------------------------------------

REASON_MAX = 500


def _reason_field(required_message: str, label: str = "Reason") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=REASON_MAX,
        error_messages={"required": required_message, "max_length": "At most 500 characters"},
    )


class ActingForForm(forms.Form):
    """Operators search for someone else: who asked, and why (recorded with every search and view)."""

    requester = forms.CharField(
        max_length=200,
        error_messages={"required": "Enter the name and organisation of the person who asked"},
    )
    reason = _reason_field("Enter why they need to find the child")


class SearchForm(forms.Form):
    """What a practitioner knows about a child, as typed; the directory decides whether it is enough."""

    given_name = forms.CharField(max_length=100, required=False)
    family_name = forms.CharField(max_length=100, required=False)
    dob_day = forms.CharField(max_length=2, required=False)
    dob_month = forms.CharField(max_length=2, required=False)
    dob_year = forms.CharField(max_length=4, required=False)
    postcode = forms.CharField(max_length=10, required=False)
    sex = forms.ChoiceField(
        choices=[("", "Not known"), ("F", "Female"), ("M", "Male"), ("U", "Unknown")], required=False
    )
    nhs_number = forms.CharField(max_length=12, required=False)
    upn = forms.CharField(max_length=13, required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        day, month, year = (str(data.get(k) or "").strip() for k in ("dob_day", "dob_month", "dob_year"))
        if (day or month) and not year:
            self.add_error("dob_year", "Date of birth must include a year")
        elif day and not month:
            self.add_error("dob_month", "Date of birth must include a month when it includes a day")
        elif not all(part.isdigit() for part in (day, month, year) if part):
            self.add_error("dob_day", "Date of birth must be numbers, like 27 3 2015")
        else:
            parts = [year.zfill(4) if year else "", month.zfill(2) if month else "", day.zfill(2) if day else ""]
            data["date_of_birth"] = "-".join(p for p in parts if p)
        return data


class HiddenDetailsForm(forms.Form):
    reason = _reason_field("Enter why you need to see this child's hidden details")


class InvolvementForm(forms.Form):
    service_type = forms.ChoiceField(
        choices=[],
        error_messages={
            "required": "Select the service you work for",
            "invalid_choice": "Select the service you work for",
        },
    )
    role = forms.CharField(max_length=100, required=False)
    is_lead_professional = forms.BooleanField(required=False)
    caf_held = forms.BooleanField(required=False)
    consent_recorded = forms.BooleanField(required=False)

    def __init__(self, *args: object, service_choices: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["service_type"].choices = service_choices  # type: ignore[attr-defined]


class FlagsForm(forms.Form):
    contactpoint_id = forms.CharField(max_length=20)
    is_lead_professional = forms.BooleanField(required=False)
    caf_held = forms.BooleanField(required=False)


class EndInvolvementForm(forms.Form):
    contactpoint_id = forms.CharField(max_length=20)
    confirm = forms.CharField(required=False)


class ShieldForm(forms.Form):
    reason = _reason_field("Enter why the child must be shielded")
    review_on = forms.DateField(
        input_formats=["%Y-%m-%d"],
        error_messages={
            "required": "Enter the date to review the shield",
            "invalid": "Enter the review date as YYYY-MM-DD, like 2027-01-31",
        },
    )


class UnshieldForm(forms.Form):
    reason = _reason_field("Enter why the shield can be lifted")


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("accept", "Same child"), ("reject", "Different children")],
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether these are the same child"},
    )
    reason = forms.CharField(max_length=REASON_MAX, required=False)


class UndoForm(forms.Form):
    reason = _reason_field("Enter why the decision is being undone")


class SplitForm(forms.Form):
    reason = _reason_field("Enter why this record is not the same child")


class MergeForm(forms.Form):
    """Merge the record the team member came from with another: which, which identifier stays, and why."""

    other = forms.CharField(
        max_length=40, error_messages={"required": "Enter the ContactPoint ID of the other record"}
    )
    keep = forms.ChoiceField(
        choices=[("this", "This record"), ("other", "The other record")],
        error_messages={
            "required": "Select which ContactPoint ID the child keeps",
            "invalid_choice": "Select which ContactPoint ID the child keeps",
        },
    )
    reason = _reason_field("Enter why these records are the same child")

    def clean_other(self) -> str:
        """The identifier without separators, its form and check character checked (a typo is caught here)."""
        typed = identifiers.normalise_contactpoint_id(self.cleaned_data["other"])
        if any(char not in identifiers.ALPHABET for char in typed):
            raise forms.ValidationError(
                "A ContactPoint ID has only letters and numbers, and never 0, 1, I, L, O or U"
            )
        if len(typed) != identifiers.LENGTH:
            raise forms.ValidationError(
                f"A ContactPoint ID is {identifiers.LENGTH} letters and numbers, like K7QM-3XZD-9F2C: "
                f"you entered {len(typed)}"
            )
        if not identifiers.is_valid_contactpoint_id(typed):
            # Its check character disagrees with the rest (contactpoint.core.identifiers).
            raise forms.ValidationError("Check the ContactPoint ID: a character is mistyped or two are swapped")
        return typed


# Accounts -------------------------------------------------------------------------------------------

_DATE_ERRORS = {"invalid": "Enter the date as YYYY-MM-DD, like 2027-01-31"}


class NewUserForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[A-Za-z0-9.@+_-]{3,150}$",
        error_messages={
            "required": "Enter a username",
            "invalid": "A username is 3 to 150 letters, digits and . @ + _ -",
        },
    )
    first_name = forms.CharField(max_length=150, error_messages={"required": "Enter their first name"})
    last_name = forms.CharField(max_length=150, error_messages={"required": "Enter their last name"})
    email = forms.EmailField(required=False, error_messages={"invalid": "Enter an email address like name@example.org"})
    role = forms.ChoiceField(
        choices=[], error_messages={"required": "Select a role", "invalid_choice": "Select a role"}
    )
    organisation = forms.ChoiceField(
        choices=[], error_messages={"required": "Select an organisation", "invalid_choice": "Select an organisation"}
    )
    checks_valid_until = forms.DateField(
        input_formats=["%Y-%m-%d"],
        error_messages={"required": "Enter the date their checks are valid until", **_DATE_ERRORS},
    )

    def __init__(
        self,
        *args: object,
        roles: list[tuple[str, str]],
        organisations: list[tuple[str, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["role"].choices = roles  # type: ignore[attr-defined]
        self.fields["organisation"].choices = organisations  # type: ignore[attr-defined]


class SuspendForm(forms.Form):
    reason = _reason_field("Enter why the account is being suspended")


class UnsuspendForm(forms.Form):
    reason = _reason_field("Enter why the suspension can be lifted")


class RenewChecksForm(forms.Form):
    employer_authorised_until = forms.DateField(input_formats=["%Y-%m-%d"], required=False, error_messages=_DATE_ERRORS)
    background_check_until = forms.DateField(input_formats=["%Y-%m-%d"], required=False, error_messages=_DATE_ERRORS)
    training_until = forms.DateField(input_formats=["%Y-%m-%d"], required=False, error_messages=_DATE_ERRORS)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if not self.errors and not any(data.get(name) for name in self.fields):
            raise forms.ValidationError("Enter at least one new date")
        return data


# The audit trail --------------------------------------------------------------------------------------


class AuditSearchForm(forms.Form):
    username = forms.CharField(max_length=150, required=False)
    child = forms.CharField(max_length=20, required=False)
    action = forms.ChoiceField(choices=[], required=False)
    since = forms.DateField(input_formats=["%Y-%m-%d"], required=False, error_messages=_DATE_ERRORS)
    until = forms.DateField(input_formats=["%Y-%m-%d"], required=False, error_messages=_DATE_ERRORS)
    page = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args: object, actions: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["action"].choices = [("", "Any"), *actions]  # type: ignore[attr-defined]


class AuditExportForm(AuditSearchForm):
    reason = _reason_field("Enter why the events are being exported")


# Access alerts --------------------------------------------------------------------------------------


class AlertActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("acknowledge", "Acknowledge: looked into, nothing more to do"),
            ("escalate", "Escalate: pass it on to the employer, information governance or the police"),
            ("suspend", "Suspend the user: they are signed out everywhere at once"),
        ],
        error_messages={"required": "Select what you are doing about the alert"},
    )
    note = forms.CharField(
        max_length=REASON_MAX,
        error_messages={"required": "Enter what you found and did", "max_length": "At most 500 characters"},
    )


class SubjectAccessForm(forms.Form):
    reason = _reason_field("Enter the subject access request's reference", label="Request reference")
    format = forms.ChoiceField(
        choices=[("html", "Readable page (HTML)"), ("json", "Data (JSON)")],
        error_messages={"required": "Choose a format", "invalid_choice": "Choose HTML or JSON"},
    )
