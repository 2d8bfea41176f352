"""The checks a command's input passes before any aggregate is touched: pure, no IO.

Messages name the field, never its value (the value may be a child's personal data)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain import privacy
from domain.children import SEXES
from domain.errors import InvalidInput
from domain.ids import as_id
from domain.meta import Context
from domain.money import Goods
from domain.receipts import CHANNELS
from domain.text import MAX_NAME, MAX_NOTE, check_optional, check_text


def check_note(note: object, field: str = "note") -> str | None:
    return check_optional(note, field, max_length=MAX_NOTE, multiline=True)


def check_channel(channel: object, goods: Goods | None) -> str:
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}; expected one of {list(CHANNELS)}")
    if (goods is not None) != (channel == "in_kind"):
        raise InvalidInput("goods come through the in_kind channel, and only goods do")
    return str(channel)


# How each personal field of a child is checked: (longest, multi-line).
_PERSONAL_TEXT = {"full_name": (MAX_NAME, False), "guardian_name": (MAX_NAME, False),
                  "ethnicity": (MAX_NAME, False), "sex": (MAX_NAME, False),
                  "circumstances": (MAX_NOTE, True)}


def check_personal(personal: dict[str, Any]) -> dict[str, Any]:
    """A child's personal fields as they will be sealed. Messages name the field, never its value."""
    fields: dict[str, Any] = {}
    for key, value in personal.items():
        if key not in privacy.PERSONAL_FIELDS or value is None:
            continue
        if key == "sex" and value not in SEXES:
            raise InvalidInput(f"sex must be one of {list(SEXES)}")
        if key == "birth_year":
            if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 2100:
                raise InvalidInput("birth_year must be a year")
            fields[key] = value
        else:
            longest, multiline = _PERSONAL_TEXT[key]
            fields[key] = check_text(value, key, max_length=longest, multiline=multiline)
    if not fields.get("full_name"):
        raise InvalidInput("a child needs a full_name")
    return fields


CHILD_MAX_AGE = 16  # the plan supports children under 16 (settings may change it)


def check_child_age(birth_year: int | None, *, today: date, max_age: int = CHILD_MAX_AGE) -> None:
    """A child registered for support is born by this year and under `max_age` this year.

    Counted in years of birth, as the commune's lists are: a child born in 2011 is 15 all of
    2026 for the plan, whatever their birthday. A record without a birth year is not refused
    (the commune may not know it yet); the message never names the value."""
    if birth_year is None:
        return
    if birth_year > today.year:
        raise InvalidInput(f"birth_year must not be after {today.year}")
    if today.year - birth_year >= max_age:
        raise InvalidInput(f"the child must be under {max_age} at registration"
                           f" (born {today.year - max_age + 1} or later)")


def check_context(ctx: Context) -> None:
    """What the caller's context puts in every event's metadata must be storable text too."""
    check_text(ctx.actor, "actor", max_length=MAX_NAME, required=True)
    check_text(ctx.role, "role", max_length=MAX_NAME, required=True)
    check_text(ctx.request_id, "request id", max_length=MAX_NAME)
    check_optional(ctx.idempotency_key, "Idempotency-Key", max_length=MAX_NAME)
    check_note(ctx.note)


def as_uuid(value: object, field: str) -> UUID:
    try:
        return as_id(value if isinstance(value, UUID | str) else str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be a UUID") from None
