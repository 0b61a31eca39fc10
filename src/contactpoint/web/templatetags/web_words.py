"""Template filters that say stored codes in words."""

from __future__ import annotations

from django import template

register = template.Library()

SEXES = {"F": "Female", "M": "Male", "U": "Unknown"}


@register.filter
def sex(code: str | None) -> str:
    """``F`` → Female; an empty or unknown code → Not known."""
    return SEXES.get((code or "").upper(), "Not known")
