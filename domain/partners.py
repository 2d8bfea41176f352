"""The partner organisations that mobilise the money (issue 13): reference data, by code.

The plan (Kế hoạch 2021, sections II.3, II.6 and IV) asks the Fatherland Front, the mass
organisations and the province's funds to mobilise resources and to report what they mobilised;
its own list comes built in, and an admin adds others (`Partners.Added`). A pledge or a receipt
names one by its code; a name or a short name the organisations use ("Hội LHPN tỉnh") is read as
that code, so that one organisation is never counted as two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TypedDict
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyRecorded, InvalidInput, PartnerUnknown
from domain.meta import Meta
from domain.text import fold


class Partner(TypedDict):
    code: str
    name: str
    aliases: list[str]  # other names and short names it is known by


PLAN_PARTNERS: tuple[Partner, ...] = (
    Partner(code="mttq", name="Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh Lạng Sơn",
            aliases=["Ủy ban MTTQ tỉnh Lạng Sơn", "UBMTTQVN tỉnh", "Ủy ban MTTQ tỉnh", "MTTQ tỉnh"]),
    Partner(code="hlhpn", name="Hội Liên hiệp Phụ nữ tỉnh Lạng Sơn",
            aliases=["Hội LHPN tỉnh", "Hội Liên hiệp Phụ nữ tỉnh", "Hội LHPN tỉnh Lạng Sơn"]),
    Partner(code="tinh-doan", name="Đoàn Thanh niên Cộng sản Hồ Chí Minh tỉnh Lạng Sơn",
            aliases=["Tỉnh đoàn Lạng Sơn", "Đoàn TNCSHCM tỉnh", "Tỉnh đoàn"]),
    Partner(code="ldld", name="Liên đoàn Lao động tỉnh Lạng Sơn",
            aliases=["Liên đoàn Lao động tỉnh", "LĐLĐ tỉnh"]),
    Partner(code="chu-thap-do", name="Hội Chữ thập đỏ tỉnh Lạng Sơn",
            aliases=["Hội Chữ thập đỏ tỉnh", "Hội CTĐ tỉnh"]),
    Partner(code="hoi-nong-dan", name="Hội Nông dân tỉnh Lạng Sơn",
            aliases=["Hội Nông dân tỉnh", "Hội ND tỉnh"]),
    Partner(code="cuu-chien-binh", name="Hội Cựu chiến binh tỉnh Lạng Sơn",
            aliases=["Hội Cựu chiến binh tỉnh", "Hội CCB tỉnh"]),
    Partner(code="bao-tro-ntkt-tre-em",
            name="Hội Bảo trợ người khuyết tật và Bảo vệ quyền trẻ em tỉnh Lạng Sơn",
            aliases=["Hội Bảo trợ người khuyết tật và Bảo vệ quyền trẻ em tỉnh"]),
    Partner(code="so-ldtbxh", name="Sở Lao động - Thương binh và Xã hội tỉnh Lạng Sơn",
            aliases=["Sở LĐTBXH", "Sở Lao động - Thương binh và Xã hội"]),
    Partner(code="quy-bao-tro-tre-em", name="Quỹ Bảo trợ trẻ em tỉnh Lạng Sơn",
            aliases=["Quỹ Bảo trợ trẻ em tỉnh", "Hội đồng Quỹ Bảo trợ trẻ em tỉnh"]),
)
"""The organisations the plan names (section IV), with the short names its text uses."""

CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,39}$"
_CODE = re.compile(CODE_PATTERN)


def _key(name: str) -> str:
    return " ".join(fold(name).split())


def partner_code(partners: Iterable[Partner], value: str) -> str:
    """The code of the partner named by `value`: its code, or one of its names in any case,
    with or without diacritics (PartnerUnknown otherwise, naming where the list is)."""
    by_name: dict[str, str] = {}
    for p in partners:
        if value == p["code"]:
            return value
        for name in (p["name"], *p["aliases"]):
            by_name[_key(name)] = p["code"]
    found = by_name.get(_key(value))
    if found is None:
        raise PartnerUnknown("mobilised_by must name a partner organisation by its code "
                             "(GET /partners lists them; an admin adds others)")
    return found


class Partners(Aggregate):
    """The partners an admin added to the plan's own list (id `ids.partners_id()`)."""

    @event("Started")
    def __init__(self, *, id: UUID, meta: Meta) -> None:
        """The list of added partners was started by the first one added."""
        self.added: dict[str, Partner] = {}

    def add(self, *, code: str, name: str, aliases: list[str], known: Mapping[str, Partner],
            meta: Meta) -> None:
        """Add a partner; `known` is every partner so far (the plan's and the added ones): no
        code or name may name two organisations."""
        if not _CODE.fullmatch(code):
            raise InvalidInput("a partner's code is 2 to 40 lower-case letters, digits or '-'")
        if code in known:
            raise AlreadyRecorded(f"partner {code} exists already")
        taken = {_key(n): p["code"] for p in known.values() for n in (p["name"], *p["aliases"])}
        for n in (name, *aliases):
            if _key(n) in taken:
                raise AlreadyRecorded(f"the name {n!r} already names partner {taken[_key(n)]}")
        self._add(code=code, name=name, aliases=aliases, meta=meta)

    @event("Added")
    def _add(self, *, code: str, name: str, aliases: list[str], meta: Meta) -> None:
        """A partner organisation was added, with its name and the short names it is known by."""
        self.added[code] = Partner(code=code, name=name, aliases=list(aliases))
