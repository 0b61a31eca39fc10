"""Forms for the sign-in pages."""

from django import forms


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
