"""Demo data (DỮ LIỆU MẪU): the 2021 Lạng Sơn plan brought to life. NOTHING HERE IS REAL.

`load_demo` fills a ledger with a year of invented activity under the provincial People's
Committee's 2021 plan to mobilise resources for children in the extremely disadvantaged communes
(see shared/seed/lang-son-plan-2021.vi.txt): donors of every kind, pledges made at the launch,
about 3,000 receipts in the four funds (cash, bank transfers and goods), the needs survey of every
extremely difficult commune, two rounds of allocations, about 400 registered children and the
support distributed to them and to counted groups, a few duplicate-support overrides and a few
reversals, all dated in 2021 (season "2021").

Every donor, person, amount, bank transaction id and decision number is invented; public bodies
are named only to make the demo recognisable. Every event carries a note that starts with
"[Dữ liệu mẫu]" (demo data), and the actor of every event is "demo".

It goes through the Ledger's own command methods, so every money rule holds exactly as in real
use. It is deterministic for a given seed (same commands, same amounts, same order of events),
and it runs once: a marker claim ("demo", "lang-son-2021") is saved at the end, and a ledger that
already has it is left alone. A load interrupted half way is not resumed: start from an empty store.

Allocations rely on the ledger's `open_receipts` read model; when it lags or is missing, an
allocation that can't be paid is shrunk, then skipped.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast
from uuid import UUID, uuid5

from domain.areas import Area
from domain.claims import Claim, claim_id
from domain.errors import DomainError, InsufficientFunds
from domain.ids import as_id
from domain.meta import Context
from domain.money import restriction_allows
from ledger.answers import Allocated, Distributed, Reversed
from ledger.application import Ledger

log = logging.getLogger(__name__)

DEMO = "[Dữ liệu mẫu]"
MARKER_KIND = "demo"
MARKER_VALUE = "lang-son-2021"
SEASON = "2021"
REQUEST_HASH = "demo"
_OWNER_NAMESPACE = UUID("3d0c6f4e-8a57-4b8e-9d7b-2a1f5e6c7b90")

COAT_ITEM = "Áo ấm trẻ em"
MILK_ITEM = "Sữa bột"
COAT: dict[str, Any] = {"item": COAT_ITEM, "unit": "chiếc", "unit_value_vnd": 150_000}
MILK: dict[str, Any] = {"item": MILK_ITEM, "unit": "hộp", "unit_value_vnd": 250_000}
# An item of goods is its name and unit (domain/goods.py): allocations and lines name both.
UNITS: dict[str, str] = {COAT_ITEM: COAT["unit"], MILK_ITEM: MILK["unit"]}
FUNDS = ("state-budget", "child-protection-fund", "fund-for-the-poor", "campaign")

CATEGORIES = ("nutrition-health", "play-recreation", "warm-clothing", "tet-gifts")
# Which funds pay for which category, and their shares of the programme's need.
FUND_SHARES: dict[str, tuple[tuple[str, float], ...]] = {
    "nutrition-health": (("state-budget", 0.5), ("campaign", 0.3), ("fund-for-the-poor", 0.2)),
    "play-recreation": (("child-protection-fund", 0.5), ("campaign", 0.5)),
    "warm-clothing": (("fund-for-the-poor", 0.4), ("campaign", 0.6)),
    "tet-gifts": (("state-budget", 0.3), ("child-protection-fund", 0.4), ("campaign", 0.2),
                  ("fund-for-the-poor", 0.1)),
}
FUND_CATEGORIES: dict[str, tuple[str, ...]] = {
    fund: tuple(c for c in CATEGORIES if any(f == fund for f, _ in FUND_SHARES[c]))
    for fund in FUNDS
}
ROUND_1 = ("nutrition-health", "play-recreation")
ROUND_2 = ("warm-clothing", "tet-gifts")
DECISIONS = {
    (1, "state-budget"): "QĐ 1556/QĐ-UBND ngày 06/9/2021",
    (1, "child-protection-fund"): "QĐ 1557/QĐ-UBND ngày 06/9/2021",
    (1, "fund-for-the-poor"): "QĐ 1558/QĐ-UBND ngày 06/9/2021",
    (1, "campaign"): "QĐ 1559/QĐ-UBND ngày 06/9/2021",
    (2, "state-budget"): "QĐ 2154/QĐ-UBND ngày 05/11/2021",
    (2, "child-protection-fund"): "QĐ 2155/QĐ-UBND ngày 05/11/2021",
    (2, "fund-for-the-poor"): "QĐ 2156/QĐ-UBND ngày 05/11/2021",
    (2, "campaign"): "QĐ 2157/QĐ-UBND ngày 05/11/2021",
}
# Goods go through the campaign: milk in round 1 for nutrition, coats and milk in round 2
# for warm clothing and Tết gifts.
GOODS_FOR = {"nutrition-health": MILK_ITEM, "warm-clothing": COAT_ITEM, "tet-gifts": MILK_ITEM}
# Survey: children per commune (range) and estimated cost per child.
NEED_CHILDREN = {
    "nutrition-health": (120, 300), "play-recreation": (120, 300),
    "warm-clothing": (100, 250), "tet-gifts": (30, 90),
}
NEED_UNIT_VND = {
    "nutrition-health": 500_000, "play-recreation": 200_000,
    "warm-clothing": 250_000, "tet-gifts": 400_000,
}
# What one named child receives (cash), and what a counted group's line says.
CHILD_LINE = {
    "nutrition-health": ("Khám sức khỏe, bổ sung vi chất dinh dưỡng", 400_000),
    "play-recreation": ("Đồ chơi, sách truyện dịp Tết Trung thu", 200_000),
    "warm-clothing": ("Áo ấm, chăn ấm mùa đông", 250_000),
    "tet-gifts": ("Quà Tết Nhâm Dần (tiền mặt và nhu yếu phẩm)", 500_000),
}
GROUP_LINE = {
    "nutrition-health": "Khám sức khỏe định kỳ, bữa ăn dinh dưỡng cho trẻ mầm non, tiểu học",
    "play-recreation": "Tổ chức vui Tết Trung thu, tặng đồ chơi, dụng cụ thể thao",
    "warm-clothing": "Chăn ấm, mũ len, tất, ủng cho trẻ",
    "tet-gifts": "Quà Tết cho trẻ em có hoàn cảnh đặc biệt",
}
TOP_UP_LINE = {
    "nutrition-health": "Bổ sung bữa ăn dinh dưỡng học kỳ I năm học 2021–2022",
    "play-recreation": "Bổ sung đồ chơi, dụng cụ thể thao cho điểm trường",
}
DISTRIBUTED_ON = {  # month ranges (first day, last day) per category
    "nutrition-health": (date(2021, 9, 15), date(2021, 10, 31)),
    "play-recreation": (date(2021, 9, 8), date(2021, 9, 20)),
    "warm-clothing": (date(2021, 11, 15), date(2021, 12, 15)),
    "tet-gifts": (date(2021, 12, 16), date(2021, 12, 30)),
}

# The plan's partner organisations (domain/partners.py) that mobilise the demo's gifts.
PARTNERS = ("mttq", "hlhpn", "tinh-doan", "ldld", "chu-thap-do")

ORGANISATIONS = (
    "Hội Chữ thập đỏ tỉnh Lạng Sơn",
    "Đoàn Thanh niên Cộng sản Hồ Chí Minh tỉnh Lạng Sơn",
    "Hội Liên hiệp Phụ nữ tỉnh Lạng Sơn",
    "Liên đoàn Lao động tỉnh Lạng Sơn",
    "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh Lạng Sơn",
    "Hội Cựu chiến binh tỉnh Lạng Sơn",
    "Hội Nông dân tỉnh Lạng Sơn",
    "Hội Khuyến học tỉnh Lạng Sơn",
    "Hội Doanh nghiệp trẻ tỉnh Lạng Sơn",
    "Hội Doanh nhân nữ tỉnh Lạng Sơn",
    "Đoàn Thanh niên Bệnh viện Đa khoa tỉnh Lạng Sơn",
    "Đoàn Thanh niên Trường Cao đẳng Sư phạm Lạng Sơn",
    "Hội Chữ thập đỏ huyện Tràng Định",
    "Hội đồng hương Lạng Sơn tại Hà Nội",
    "Câu lạc bộ Doanh nhân Xứ Lạng tại TP. Hồ Chí Minh",
    "Câu lạc bộ Thiện nguyện Ấm áp vùng cao",
    "Nhóm Thiện nguyện Nắng ấm Xứ Lạng",
    "Hội Bảo trợ người khuyết tật và trẻ mồ côi tỉnh Lạng Sơn",
)
FUNDS_DONORS = (
    "Quỹ Bảo trợ trẻ em Việt Nam",
    "Quỹ Khuyến học tỉnh Lạng Sơn",
    "Quỹ Từ thiện Vì trẻ em vùng cao",
    "Quỹ Hy vọng Xứ Lạng",
    "Quỹ Học bổng Ánh Dương",
    "Quỹ Thiện tâm Mẫu Sơn",
    "Quỹ Xã hội Chắp cánh ước mơ",
)
BUDGET_AGENCIES = (  # they pay the state-budget fund
    "Sở Tài chính tỉnh Lạng Sơn",
    "UBND huyện Tràng Định",
    "UBND huyện Bình Gia",
    "UBND huyện Lộc Bình",
    "UBND huyện Đình Lập",
)
OTHER_AGENCIES = (  # staff contributions ("một ngày lương") to the other funds
    "Sở LĐTBXH tỉnh Lạng Sơn",
    "Sở Giáo dục và Đào tạo tỉnh Lạng Sơn",
    "Sở Y tế tỉnh Lạng Sơn",
    "Công an tỉnh Lạng Sơn",
    "Bộ Chỉ huy Quân sự tỉnh Lạng Sơn",
)
BUSINESS_FORMS = ("Công ty TNHH", "Công ty Cổ phần", "Công ty TNHH MTV", "Doanh nghiệp tư nhân")
BUSINESS_TRADES = (
    "Thương mại", "Xây dựng", "Vận tải", "Xuất nhập khẩu", "Du lịch", "Dược phẩm", "Nông sản",
    "Vật liệu xây dựng", "Logistics", "Thương mại và Dịch vụ", "Chế biến lâm sản", "Điện nước",
)
BUSINESS_NAMES = (
    "Hoàng Long", "Kỳ Lừa", "Phai Vệ", "Tân Thanh", "Hữu Nghị", "Đồng Đăng", "Xứ Lạng",
    "Bắc Sơn Xanh", "Na Dương", "Việt Bắc", "Ánh Dương", "Minh Phát", "Thành Đạt", "An Khang",
    "Phúc Lộc", "Hồng Hà", "Mai Pha", "Tam Thanh", "Nhị Thanh", "Chi Lăng", "Kim Đồng",
    "Đông Kinh", "Bảo An", "Thịnh Vượng", "Trường Xuân", "Lộc Phát", "Sao Mai", "Hưng Thịnh",
    "Gia Khang", "Tiến Thành", "Hải Yến", "Vĩnh Trại", "Đại Phát", "Quang Minh", "Nam Quan",
)

KINH_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Vũ", "Đỗ", "Bùi", "Đặng", "Ngô", "Dương")
LOCAL_SURNAMES = ("Hoàng", "Nông", "Lương", "Vi", "Lăng", "Chu", "Hà", "Lộc", "Bế", "Triệu")
BOY_NAMES = (
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Lâm", "Long", "Minh", "Nam", "Phúc",
    "Quân", "Sơn", "Tài", "Thành", "Tuấn", "Việt", "Hiếu", "Đạt", "Kiên", "Trung", "Thắng",
)
GIRL_NAMES = (
    "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Huyền", "Lan", "Linh", "Mai", "Ngân",
    "Nhung", "Phương", "Quỳnh", "Thảo", "Trang", "Uyên", "Vân", "Yến", "Thủy", "Hằng", "Loan",
)
BOY_MIDDLE = ("Văn", "Văn", "Đức", "Minh", "Quang", "Thanh", "Xuân")
GIRL_MIDDLE = ("Thị", "Thị", "Thu", "Ngọc", "Phương", "Thanh", "Hồng")
ETHNICITIES = (("Nùng", 40), ("Tày", 34), ("Kinh", 12), ("Dao", 8), ("Sán Chay", 3), ("H'Mông", 3))
ETHNIC_SURNAMES = {
    "Nùng": ("Hoàng", "Nông", "Lương", "Vi", "Lăng", "Chu", "Mông", "Lục", "Hứa", "Đàm", "Tô"),
    "Tày": ("Hoàng", "Nông", "Lương", "Vi", "Hà", "Lộc", "Bế", "Lăng", "Chu", "Hứa", "Lành"),
    "Kinh": KINH_SURNAMES,
    "Dao": ("Triệu", "Bàn", "Lý", "Đặng", "Chìu", "Phùng"),
    "Sán Chay": ("Hoàng", "Lâm", "Lục", "Đàm", "Tô"),
    "H'Mông": ("Giàng", "Vàng", "Sùng", "Thào", "Lầu", "Hầu"),
}
DAO_BOYS = ("Sành", "Quý", "Phin", "Hin", "Lình", "Tiến", "Kiềm")
DAO_GIRLS = ("Mùi", "Nải", "Chạn", "Quyên", "Liên", "Mẩy")
HMONG_BOYS = ("Páo", "Chứ", "Sình", "Lử", "Dính", "Pó")
HMONG_GIRLS = ("Dợ", "Mỷ", "Sua", "Chá", "Dung", "Mai")
CIRCUMSTANCES = (
    "Hộ nghèo",
    "Hộ cận nghèo",
    "Mồ côi cha, sống với mẹ",
    "Mồ côi mẹ, sống với cha",
    "Mồ côi cả cha lẫn mẹ, sống với ông bà",
    "Cha mẹ đi làm ăn xa, ở với ông bà",
    "Khuyết tật vận động nhẹ",
    "Nhà xa điểm trường, đi học qua đèo",
    "Suy dinh dưỡng thể thấp còi",
    "Gia đình có người ốm đau dài ngày",
)
SPECIAL = frozenset({
    "Mồ côi cha, sống với mẹ", "Mồ côi mẹ, sống với cha",
    "Mồ côi cả cha lẫn mẹ, sống với ông bà", "Khuyết tật vận động nhẹ",
})
RECEIPT_NOTES = (
    "Ủng hộ chương trình hỗ trợ trẻ em các xã đặc biệt khó khăn năm 2021",
    "Ủng hộ trẻ em vùng cao Lạng Sơn",
    "Chung tay vì trẻ em xã đặc biệt khó khăn",
    "Ủng hộ Quỹ vì trẻ em",
    "Ủng hộ đồ ấm, dinh dưỡng cho trẻ em vùng cao",
)
# Receipts per month (weights): the launch in March, Children's Day (1/6), Mid-Autumn, winter.
MONTH_WEIGHTS = {2: 3, 3: 9, 4: 9, 5: 12, 6: 15, 7: 6, 8: 6, 9: 9, 10: 8, 11: 11, 12: 12}
LAUNCH = date(2021, 3, 26)
N_CHILDREN = 400
N_REVISED_NEEDS = 8
N_MISTAKEN_RECEIPTS = 4
N_CANCELLED_PLEDGES = 2
N_OVERRIDES = 5
# receipts, pledges, one wrong allocation per round, one distribution list drawn up wrongly
N_REVERSALS = N_MISTAKEN_RECEIPTS + N_CANCELLED_PLEDGES + 2 + 1
ROUND_1_CUTOFF = date(2021, 9, 1)


@dataclass
class _Donor:
    name: str
    kind: str
    public_name: str | None = None
    anonymous: bool = False
    budget: bool = False  # pays the state budget
    id: UUID | None = None


@dataclass
class _Pledge:
    donor: int
    fund: str
    amount_vnd: int | None
    goods: dict[str, Any] | None
    restriction: dict[str, str] | None
    due_on: str
    mobilised_by: str | None
    id: UUID | None = None


@dataclass
class _ReceiptSpec:
    donor: int
    fund: str
    on: date
    channel: str
    amount_vnd: int | None = None
    goods: dict[str, Any] | None = None
    restriction: dict[str, str] | None = None
    pledge: int | None = None
    bank_txn_id: str | None = None
    mobilised_by: str | None = None
    note: str = ""


@dataclass
class _Held:
    """What a recorded receipt still holds, as far as this loader knows."""

    fund: str
    item: str | None
    restriction: dict[str, str]
    left: int  # đồng for money, quantity for goods


@dataclass
class _Programme:
    commune: Area
    category: str
    cash: int = 0
    allocated: int = 0  # money and goods, in đồng
    stock: dict[str, int] = field(default_factory=dict)
    named: list[str] = field(default_factory=list)  # children who got a line


@dataclass
class _Child:
    id: str
    commune: str
    special: bool


def load_demo(ledger: Ledger, *, progress: Callable[[int, int], None] | None = None,
              seed: int = 2021) -> dict[str, int]:
    """Load the demo of the 2021 Lạng Sơn plan into `ledger`, once; return counts per kind."""
    marker = claim_id(MARKER_KIND, MARKER_VALUE)
    if ledger.find_or_none(marker, Claim) is not None:
        return {"skipped": 1}
    loader = _Loader(ledger, random.Random(seed), progress)
    counts = loader.run()
    ctx = loader.ctx(f"{DEMO} Đã nạp dữ liệu mẫu Kế hoạch 2021 tỉnh Lạng Sơn (seed {seed})")
    ledger.save(Claim(id=marker, kind=MARKER_KIND, value=MARKER_VALUE,
                      owner_id=uuid5(_OWNER_NAMESPACE, f"{MARKER_VALUE}|{seed}"), meta=ctx.meta()))
    loader.done = loader.total - 1
    loader.tick()
    return counts


class _Loader:
    def __init__(self, ledger: Ledger, rng: random.Random,
                 progress: Callable[[int, int], None] | None) -> None:
        self.ledger = ledger
        self.rng = rng
        self.progress = progress
        self.done = 0
        self.total = 1
        self.requests = 0
        self.counts = dict.fromkeys(
            ("donors", "pledges", "receipts", "needs", "children", "allocations",
             "distributions", "reversals", "duplicate_overrides", "approved_proposals"), 0)
        areas = ledger.areas
        self.communes = [a for a in areas.communes() if a.extremely_difficult]
        if not self.communes:
            raise ValueError("the area tree has no extremely difficult commune to support")
        self.districts = sorted({a.parent for a in self.communes if a.parent})
        self.donors: list[_Donor] = []
        self.pledges: list[_Pledge] = []
        self.specs: list[_ReceiptSpec] = []
        self.held: dict[UUID, _Held] = {}
        self.needs: dict[tuple[str, str], int] = {}  # (commune, category) → children surveyed
        self.programmes: dict[tuple[str, str], _Programme] = {}
        self.children: list[_Child] = []
        self.txn_ids: set[str] = set()

    # ---- plumbing ---------------------------------------------------------------------------

    def ctx(self, note: str) -> Context:
        self.requests += 1
        return Context(actor="demo", role="admin", request_id=f"demo-{self.requests:05d}",
                       note=note)

    def approved(self, made: Mapping[str, Any], note: str) -> Mapping[str, Any]:
        """Sums above the four-eyes amount wait for a second person: the demo's chief
        accountant approves them, so the demo's figures are those of the same commands."""
        if made.get("status") != "proposed":
            return made
        self.requests += 1
        ctx = Context(actor="demo-ke-toan-truong", role="finance",
                      request_id=f"demo-{self.requests:05d}", note=note)
        self.counts["approved_proposals"] += 1
        return self.ledger.approve_proposal(ctx, REQUEST_HASH, proposal_id=as_id(made["id"]),
                                            reason=f"{DEMO} Kế toán trưởng duyệt khoản lớn")

    def tick(self, steps: int = 1) -> None:
        self.done += steps
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)

    def day(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def pick(self, weighted: tuple[tuple[Any, int], ...] | list[tuple[Any, int]]) -> Any:
        values = [v for v, _ in weighted]
        return self.rng.choices(values, weights=[w for _, w in weighted])[0]

    # ---- the year ----------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        self.plan_donors()
        self.plan_pledges()
        self.plan_receipts()
        # One progress step per command planned (or skipped), plus the marker at the end.
        per_commune = (len(CATEGORIES)  # needs
                       + len(GOODS_FOR)  # goods allocations
                       + sum(len(FUND_SHARES[k]) for k in CATEGORIES)  # money allocations
                       + len(CATEGORIES)  # top-ups
                       + 2 * len(CATEGORIES)  # named and counted distributions
                       + len(ROUND_1))  # distributions of the top-ups
        self.total = (len(self.donors) + len(self.pledges) + len(self.specs) + N_CHILDREN
                      + len(self.communes) * per_commune + N_REVISED_NEEDS
                      + N_REVERSALS + N_OVERRIDES + 1)

        if not any(s["code"] == SEASON for s in self.ledger.seasons()):
            self.ledger.open_season(self.ctx(f"{DEMO} Mở đợt hỗ trợ năm 2021"), REQUEST_HASH,
                                    code=SEASON, name="Năm 2021 (Kế hoạch 2021)",
                                    starts_on=f"{SEASON}-01-01", ends_on=f"{SEASON}-12-31")
        for i in range(len(self.donors)):
            self.register_donor(i)
        self.survey_needs()
        early = [s for s in self.specs if s.on < LAUNCH]
        middle = [s for s in self.specs if LAUNCH <= s.on < ROUND_1_CUTOFF]
        late = [s for s in self.specs if s.on >= ROUND_1_CUTOFF]
        for spec in early:
            self.record(spec)
        for i in range(len(self.pledges)):
            self.make_pledge(i)
        for spec in middle:
            self.record(spec)
        self.register_children(N_CHILDREN)
        # Round 1 (September): nutrition and health, play and recreation (Mid-Autumn).
        self.wrong_allocation(1)
        self.allocate_round(1, ROUND_1)
        self.distribute_round(ROUND_1, redo_one=True)
        # September to December: more receipts, a few of them entered wrongly and reversed.
        unbanked = [i for i, spec in enumerate(late) if spec.channel != "bank"]
        mistakes = sorted(self.rng.sample(unbanked, N_MISTAKEN_RECEIPTS))
        for i, spec in enumerate(late):
            if i == mistakes[-1]:
                self.mistaken_receipt(spec, wrong_fund=True)
            self.record(spec)
            if i in mistakes[:-1]:
                self.mistaken_receipt(spec, wrong_fund=False)
        self.cancel_pledges(N_CANCELLED_PLEDGES)
        # Round 2 (November): warm clothing and Tết gifts (with the milk received since
        # September), then supplements for any programme still short of its need.
        self.wrong_allocation(2)
        self.allocate_round(2, ROUND_2)
        self.top_up(2, ROUND_1 + ROUND_2)
        self.distribute_round(ROUND_2, redo_one=False)
        self.distribute_top_ups(ROUND_1)
        self.overrides(N_OVERRIDES)
        if not self.counts["allocations"]:
            log.warning("demo: nothing could be allocated; is the open_receipts read model "
                        "of this ledger running?")
        return dict(self.counts)

    # ---- donors and pledges ---------------------------------------------------------------------

    def person_name(self, local: bool | None = None) -> tuple[str, bool]:
        rng = self.rng
        boy = rng.random() < 0.5
        if local is None:
            local = rng.random() < 0.5
        surname = rng.choice(LOCAL_SURNAMES if local else KINH_SURNAMES)
        middle = rng.choice(BOY_MIDDLE if boy else GIRL_MIDDLE)
        given = rng.choice(BOY_NAMES if boy else GIRL_NAMES)
        return f"{surname} {middle} {given}", boy

    def plan_donors(self) -> None:
        rng = self.rng
        seen: set[str] = set()
        individuals: list[_Donor] = []
        while len(individuals) < 130:
            name, boy = self.person_name()
            if name in seen:
                continue
            seen.add(name)
            donor = _Donor(name=name, kind="individual")
            roll = rng.random()
            if roll < 0.15:
                donor.anonymous = True
            elif roll < 0.24:
                title = "anh" if boy else "chị"
                donor.public_name = rng.choice((
                    f"Gia đình {title} {name}", f"Nhà hảo tâm {name}",
                    f"{title.capitalize()} {name} và các bạn",
                ))
            individuals.append(donor)
        businesses: list[_Donor] = []
        names = list(BUSINESS_NAMES)
        rng.shuffle(names)
        for brand in names:
            form = rng.choice(BUSINESS_FORMS)
            trade = rng.choice(BUSINESS_TRADES)
            donor = _Donor(name=f"{form} {trade} {brand}", kind="business")
            roll = rng.random()
            if roll < 0.1:
                donor.anonymous = True
            elif roll < 0.35:
                donor.public_name = f"{brand} {trade}"
            businesses.append(donor)
        organisations = [_Donor(name=n, kind="organisation") for n in ORGANISATIONS]
        funds = [_Donor(name=n, kind="fund") for n in FUNDS_DONORS]
        agencies = [_Donor(name=n, kind="agency", budget=True) for n in BUDGET_AGENCIES]
        agencies += [_Donor(name=f"Cán bộ, công chức {n}", kind="agency",
                            public_name=n) for n in OTHER_AGENCIES]
        self.donors = individuals + businesses + organisations + funds + agencies

    def donors_of(self, kind: str, budget: bool = False) -> list[int]:
        return [i for i, d in enumerate(self.donors) if d.kind == kind and d.budget == budget]

    def register_donor(self, i: int) -> None:
        d = self.donors[i]
        ctx = self.ctx(f"{DEMO} Nhà tài trợ mẫu, tên và thông tin hư cấu")
        r = self.ledger.register_donor(ctx, REQUEST_HASH, name=d.name, kind=d.kind,
                                       public_name=d.public_name, anonymous=d.anonymous)
        d.id = as_id(r["id"])
        self.counts["donors"] += 1
        self.tick()

    def restriction(self, fund: str) -> dict[str, str] | None:
        """About 15% of gifts are earmarked: a district, a commune and/or a category."""
        rng = self.rng
        if rng.random() >= 0.15:
            return None
        allowed = FUND_CATEGORIES[fund]
        kind = self.pick((("district", 4), ("commune", 4), ("category", 3), ("both", 2)))
        r: dict[str, str] = {}
        if kind in ("district", "both"):
            r["district"] = rng.choice(self.districts)
        if kind == "commune":
            r["commune"] = rng.choice(self.communes).code
        if kind in ("category", "both") or (kind == "commune" and rng.random() < 0.3):
            r["category"] = rng.choice(allowed)
        return r

    def plan_pledges(self) -> None:
        rng = self.rng
        plans: list[tuple[str, int]] = [
            ("business", 62), ("organisation", 30), ("fund", 12), ("individual", 42),
            ("budget", 4),
        ]
        for kind, n in plans:
            pool = self.donors_of("agency", True) if kind == "budget" else self.donors_of(kind)
            for _ in range(n):
                donor = rng.choice(pool)
                goods: dict[str, Any] | None = None
                amount: int | None = None
                restriction = None
                if kind == "budget":
                    fund = "state-budget"
                    amount = rng.choice((100, 150, 200, 300)) * 1_000_000
                elif kind in ("business", "organisation") and rng.random() < 0.15:
                    fund = "campaign"
                    kind_of = COAT if rng.random() < 0.6 else MILK
                    qty = rng.choice((100, 200, 300, 500) if kind_of is COAT else (50, 100, 200))
                    goods = dict(kind_of, quantity=qty)
                    if kind_of is COAT and rng.random() < 0.3:
                        restriction = {"category": "warm-clothing"}
                else:
                    fund = self.pick((("campaign", 5), ("child-protection-fund", 2),
                                      ("fund-for-the-poor", 3)))
                    scale = {"business": (5, 10, 20, 30), "organisation": (5, 10, 20),
                             "fund": (20, 30, 50), "individual": (1, 2, 3, 5, 10)}[kind]
                    amount = rng.choice(scale) * 1_000_000
                    restriction = self.restriction(fund)
                due = self.day(date(2021, 5, 31), date(2021, 12, 31))
                self.pledges.append(_Pledge(
                    donor=donor, fund=fund, amount_vnd=amount, goods=goods,
                    restriction=restriction, due_on=due.isoformat(),
                    mobilised_by=rng.choice(PARTNERS) if rng.random() < 0.7 else None,
                ))

    def make_pledge(self, i: int) -> None:
        p = self.pledges[i]
        donor_id = self.donors[p.donor].id
        assert donor_id is not None
        note = f"{DEMO} Cam kết ủng hộ tại Lễ phát động ngày 26/3/2021"
        r = self.ledger.make_pledge(
            self.ctx(note), REQUEST_HASH, donor_id=donor_id, amount_vnd=p.amount_vnd,
            in_kind=p.goods, restriction=p.restriction, due_on=p.due_on,  # type: ignore[arg-type]
            mobilised_by=p.mobilised_by, note=note,
        )
        p.id = as_id(r["id"])
        self.counts["pledges"] += 1
        self.tick()

    # ---- receipts ---------------------------------------------------------------------------------

    def receipt_day(self, after: date | None = None) -> date:
        while True:
            month = self.pick(list(MONTH_WEIGHTS.items()))
            first = date(2021, month, 15 if month == 2 else 1)
            last = (date(2021, month + 1, 1) if month < 12 else date(2021, 12, 29)) - timedelta(1)
            d = self.day(first, last)
            if after is None or d > after:
                return d

    def txn_id(self, on: date) -> str:
        while True:
            txn = f"FT21{on.timetuple().tm_yday:03d}{self.rng.randrange(16**4):04X}"
            if txn not in self.txn_ids:
                self.txn_ids.add(txn)
                return txn

    def channel(self, spec: _ReceiptSpec, cash_share: float = 0.25) -> None:
        if spec.goods is not None:
            spec.channel = "in_kind"
        elif self.rng.random() < cash_share:
            spec.channel = "cash"
        else:
            spec.channel = "bank"
            spec.bank_txn_id = self.txn_id(spec.on)

    def plan_receipts(self) -> None:
        rng = self.rng
        specs: list[_ReceiptSpec] = []
        # Pledges paid in instalments (most in full, some in part, a few not yet).
        for pi, p in enumerate(self.pledges):
            roll = rng.random()
            if roll < 0.12:
                continue
            share = 1.0 if roll < 0.7 else rng.choice((0.3, 0.5, 0.6))
            if p.goods is not None:
                qty = max(1, int(p.goods["quantity"] * share))
                spec = _ReceiptSpec(donor=p.donor, fund=p.fund, on=self.receipt_day(LAUNCH),
                                    channel="in_kind", goods=dict(p.goods, quantity=qty),
                                    restriction=p.restriction, pledge=pi,
                                    mobilised_by=p.mobilised_by)
                specs.append(spec)
                continue
            assert p.amount_vnd is not None
            total = int(p.amount_vnd * share) // 100_000 * 100_000
            parts = max(math.ceil(total / 50_000_000), rng.choice((1, 1, 2, 3)))
            if p.fund == "state-budget":
                parts = rng.choice((1, 2))
            piece = total // parts // 100_000 * 100_000
            for k in range(parts):
                amount = piece if k < parts - 1 else total - piece * (parts - 1)
                if amount <= 0:
                    continue
                spec = _ReceiptSpec(donor=p.donor, fund=p.fund, on=self.receipt_day(LAUNCH),
                                    channel="bank", amount_vnd=amount, restriction=p.restriction,
                                    pledge=pi, mobilised_by=p.mobilised_by)
                self.channel(spec, cash_share=0.1)
                specs.append(spec)
        # Large state-budget transfers from the provincial budget.
        finance = self.donors_of("agency", True)[0]
        for on, amount in ((date(2021, 3, 30), 400_000_000), (date(2021, 4, 20), 300_000_000),
                           (date(2021, 9, 15), 250_000_000), (date(2021, 10, 12), 200_000_000)):
            spec = _ReceiptSpec(donor=finance, fund="state-budget", on=on, channel="bank",
                                amount_vnd=amount,
                                note="Cấp kinh phí thực hiện Kế hoạch vận động nguồn lực năm 2021")
            spec.bank_txn_id = self.txn_id(on)
            specs.append(spec)
        # Everything else: gifts without a pledge.
        kinds = (("individual", 600), ("business", 120), ("organisation", 120), ("fund", 30),
                 ("agency", 40), ("budget", 5), ("goods", 25))
        pools = {k: (self.donors_of("agency", True) if k == "budget" else
                     self.donors_of(k) if k != "goods" else
                     self.donors_of("business") + self.donors_of("organisation"))
                 for k, _ in kinds}
        # Zipf-like: a few donors give often, most give once or twice.
        weights = {k: [1 / (r + 1) ** 0.8 for r in range(len(pool))] for k, pool in pools.items()}
        while len(specs) < 3000:
            kind = self.pick(kinds)
            donor = rng.choices(pools[kind], weights=weights[kind])[0]
            on = self.receipt_day()
            spec = _ReceiptSpec(donor=donor, fund="campaign", on=on, channel="bank")
            if kind == "goods":
                autumn = on.month >= 9
                kind_of = COAT if rng.random() < (0.75 if autumn else 0.3) else MILK
                qty = rng.choice((20, 30, 50, 80, 100, 150, 200) if kind_of is COAT
                                 else (10, 20, 30, 40, 60, 100))
                spec.goods = dict(kind_of, quantity=qty)
                if kind_of is COAT and rng.random() < 0.2:
                    spec.restriction = {"category": "warm-clothing"}
            elif kind == "budget":
                spec.fund = "state-budget"
                spec.amount_vnd = rng.choice((20, 30, 40, 50)) * 1_000_000
                spec.on = self.day(date(2021, 3, 1), date(2021, 10, 31))
            else:
                fund_weights = {
                    "individual": (("campaign", 60), ("child-protection-fund", 20),
                                   ("fund-for-the-poor", 20)),
                    "business": (("campaign", 55), ("child-protection-fund", 15),
                                 ("fund-for-the-poor", 30)),
                    "organisation": (("campaign", 60), ("child-protection-fund", 20),
                                     ("fund-for-the-poor", 20)),
                    "fund": (("child-protection-fund", 50), ("campaign", 50)),
                    "agency": (("campaign", 50), ("child-protection-fund", 25),
                               ("fund-for-the-poor", 25)),
                }[kind]
                spec.fund = self.pick(fund_weights)
                scale = {
                    "individual": ((100_000, 14), (200_000, 18), (300_000, 12), (500_000, 20),
                                   (1_000_000, 16), (2_000_000, 9), (3_000_000, 5),
                                   (5_000_000, 4), (10_000_000, 2)),
                    "business": ((1_000_000, 12), (2_000_000, 18), (3_000_000, 18),
                                 (5_000_000, 24), (10_000_000, 16), (20_000_000, 7),
                                 (30_000_000, 3), (50_000_000, 1)),
                    "organisation": ((500_000, 8), (1_000_000, 16), (2_000_000, 18),
                                     (3_000_000, 14), (5_000_000, 18), (10_000_000, 12),
                                     (20_000_000, 6), (50_000_000, 2)),
                    "fund": ((5_000_000, 4), (10_000_000, 4), (20_000_000, 2),
                             (30_000_000, 1)),
                    "agency": ((2_000_000, 4), (3_000_000, 4), (5_000_000, 6),
                               (8_000_000, 3), (10_000_000, 2)),
                }[kind]
                spec.amount_vnd = self.pick(scale)
                spec.restriction = self.restriction(spec.fund)
            self.channel(spec)
            if rng.random() < 0.6:
                spec.mobilised_by = rng.choice(PARTNERS)
            specs.append(spec)
        for spec in specs:
            base = spec.note or rng.choice(RECEIPT_NOTES)
            spec.note = f"{DEMO} {base}"
        specs.sort(key=lambda s: s.on)  # stable: same seed, same order
        self.specs = specs

    def record(self, spec: _ReceiptSpec, *, count_tick: bool = True) -> UUID:
        donor_id = self.donors[spec.donor].id
        assert donor_id is not None
        pledge_id = self.pledges[spec.pledge].id if spec.pledge is not None else None
        r = self.ledger.record_receipt(
            self.ctx(spec.note), REQUEST_HASH, donor_id=donor_id, fund=spec.fund,
            received_on=spec.on.isoformat(), channel=spec.channel, amount_vnd=spec.amount_vnd,
            in_kind=spec.goods,  # type: ignore[arg-type]
            restriction=spec.restriction, pledge_id=pledge_id, bank_txn_id=spec.bank_txn_id,
            mobilised_by=spec.mobilised_by, note=spec.note,
        )
        rid = as_id(r["id"])
        goods = spec.goods
        self.held[rid] = _Held(
            fund=spec.fund, item=goods["item"] if goods else None,
            restriction=self.normalised(spec.restriction),
            left=int(goods["quantity"]) if goods else int(spec.amount_vnd or 0),
        )
        self.counts["receipts"] += 1
        if count_tick:
            self.tick()
        return rid

    def normalised(self, restriction: dict[str, str] | None) -> dict[str, str]:
        """The restriction as the ledger keeps it: a commune brings its district along."""
        result = {k: v for k, v in (restriction or {}).items() if v}
        if "commune" in result:
            result["district"] = self.ledger.areas.district_of(result["commune"])
        return result

    def mistaken_receipt(self, spec: _ReceiptSpec, *, wrong_fund: bool) -> None:
        """A cash or goods receipt entered twice (after the right one) or into the wrong fund
        (before the right one), reversed at once, before anything was allocated from it."""
        twin = _ReceiptSpec(donor=spec.donor, fund=spec.fund, on=spec.on, channel=spec.channel,
                            amount_vnd=spec.amount_vnd, goods=spec.goods,
                            restriction=spec.restriction, pledge=spec.pledge,
                            mobilised_by=spec.mobilised_by, note=spec.note)
        if wrong_fund:
            twin.fund = "fund-for-the-poor" if spec.fund != "fund-for-the-poor" else "campaign"
            if twin.restriction and twin.restriction.get("category") not in (
                    None, *FUND_CATEGORIES[twin.fund]):
                twin.restriction = None
        rid = self.record(twin, count_tick=False)
        reason = (f"{DEMO} Nhập nhầm quỹ, hủy để lập lại phiếu thu vào đúng quỹ" if wrong_fund
                  else f"{DEMO} Phiếu thu nhập trùng, hủy bản ghi thừa")
        self.reverse(rid, reason)
        self.held[rid].left = 0

    def reverse(self, target: UUID, reason: str) -> Reversed:
        r = cast(Reversed, self.approved(self.ledger.reverse(
            self.ctx(reason), REQUEST_HASH, target_id=target, reason=reason), reason))
        self.counts["reversals"] += 1
        self.tick()
        return r

    def cancel_pledges(self, n: int) -> None:
        paid = {s.pledge for s in self.specs if s.pledge is not None}
        unpaid = [p.id for i, p in enumerate(self.pledges) if i not in paid and p.id]
        for pid in unpaid[:n]:
            self.reverse(pid, f"{DEMO} Nhà tài trợ rút cam kết do ảnh hưởng dịch COVID-19")
        self.tick(n - len(unpaid[:n]))

    # ---- needs and children -------------------------------------------------------------------------

    def survey_needs(self) -> None:
        rng = self.rng
        for commune in self.communes:
            for category in CATEGORIES:
                low, high = NEED_CHILDREN[category]
                children = rng.randint(low, high)
                self.record_need(commune, category, children,
                                 f"{DEMO} Khảo sát nhu cầu tháng 3/2021")
        for commune in rng.sample(self.communes, N_REVISED_NEEDS):
            category = rng.choice(CATEGORIES)
            children = self.needs[(commune.code, category)] + rng.randint(5, 25)
            self.record_need(commune, category, children,
                             f"{DEMO} Rà soát bổ sung nhu cầu tháng 8/2021")

    def record_need(self, commune: Area, category: str, children: int, note: str) -> None:
        estimated = children * NEED_UNIT_VND[category]
        self.ledger.record_need(self.ctx(note), REQUEST_HASH, season=SEASON,
                                commune=commune.code, category=category,
                                children_count=children, estimated_vnd=estimated, note=note)
        self.needs[(commune.code, category)] = children
        self.counts["needs"] += 1
        self.tick()

    def child_name(self, ethnicity: str, boy: bool) -> str:
        rng = self.rng
        surname = rng.choice(ETHNIC_SURNAMES[ethnicity])
        if ethnicity == "H'Mông":
            given = rng.choice(HMONG_BOYS if boy else HMONG_GIRLS)
            return f"{surname} {'A' if boy else 'Thị'} {given}"
        if ethnicity == "Dao":
            given = rng.choice(DAO_BOYS if boy else DAO_GIRLS)
            return f"{surname} {'Văn' if boy else 'Thị'} {given}"
        middle = rng.choice(BOY_MIDDLE if boy else GIRL_MIDDLE)
        return f"{surname} {middle} {rng.choice(BOY_NAMES if boy else GIRL_NAMES)}"

    def register_children(self, n: int) -> None:
        rng = self.rng
        per = [n // len(self.communes)] * len(self.communes)
        for i in rng.sample(range(len(self.communes)), n % len(self.communes)):
            per[i] += 1
        # No child or guardian shares a name with a donor: a donor's name is public, and a
        # child's must never seem to appear anywhere public.
        public = [t for d in self.donors for t in (d.name, d.public_name) if t]

        def clashes(name: str) -> bool:
            return any(name in t for t in public)

        this_year = self.ledger.dates.today().year
        for commune, count in zip(self.communes, per, strict=True):
            for _ in range(count):
                boy = rng.random() < 0.5
                ethnicity = self.pick(ETHNICITIES)
                name = self.child_name(ethnicity, boy)
                while clashes(name):
                    name = self.child_name(ethnicity, boy)
                surname = name.split()[0]
                guardian = (f"{surname} Văn {rng.choice(BOY_NAMES)}" if rng.random() < 0.6
                            else self.child_name(ethnicity, False))
                while clashes(guardian):
                    guardian = f"{surname} Văn {rng.choice(BOY_NAMES)} {rng.choice(BOY_NAMES)}"
                circumstances = rng.choice(CIRCUMSTANCES)
                personal = {
                    # Aged 4 to 15 on the day the demo is loaded: the plan supports children under
                    # 16 at registration, and the demo registers them now.
                    "full_name": name, "birth_year": rng.randint(this_year - 15, this_year - 4),
                    "sex": "male" if boy else "female", "ethnicity": ethnicity,
                    "guardian_name": guardian, "circumstances": circumstances,
                }
                ctx = self.ctx(f"{DEMO} Trẻ em mẫu, họ tên và hoàn cảnh hư cấu")
                r = self.ledger.register_child(ctx, REQUEST_HASH, commune=commune.code,
                                               personal=personal)
                self.children.append(_Child(id=r["id"], commune=commune.code,
                                            special=circumstances in SPECIAL))
                self.counts["children"] += 1
                self.tick()

    # ---- allocations ------------------------------------------------------------------------------

    def programme(self, commune: Area, category: str) -> _Programme:
        key = (commune.code, category)
        if key not in self.programmes:
            self.programmes[key] = _Programme(commune=commune, category=category)
        return self.programmes[key]

    def available(self, fund: str, item: str | None, commune: Area, category: str) -> int:
        district = commune.parent or ""
        return sum(h.left for h in self.held.values()
                   if h.fund == fund and h.item == item and h.left > 0
                   and restriction_allows(h.restriction, district, commune.code, category))

    def allocate(self, round_no: int, fund: str, commune: Area, category: str, *,
                 amount_vnd: int | None = None, item: str | None = None, quantity: int = 0,
                 note: str | None = None) -> Allocated | None:
        """Allocate what fits; shrink when the fund (or the read model) has less; else skip."""
        decision = DECISIONS[(round_no, fund)]
        note = note or f"{DEMO} Phân bổ đợt {round_no} năm 2021 theo {decision}"
        want = quantity if item else amount_vnd or 0
        want = min(want, self.available(fund, item, commune, category))
        if not item:
            want = want // 100_000 * 100_000
        for _ in range(4):
            if want <= 0 or (not item and want < 1_000_000):
                return None
            try:
                r = cast(Allocated, self.approved(self.ledger.allocate(
                    self.ctx(note), REQUEST_HASH, fund=fund, season=SEASON,
                    commune=commune.code, category=category, decision_ref=decision,
                    amount_vnd=None if item else want,
                    in_kind={"item": item, "unit": UNITS[item], "quantity": want} if item else None,
                    note=note,
                ), note))
            except InsufficientFunds as e:
                log.info("demo: allocation to %s/%s shrunk: %s", commune.code, category, e)
                want = want // 2 if item else want // 2 // 100_000 * 100_000
                continue
            for d in r["drawn_from"]:
                self.held[as_id(d["receipt_id"])].left -= d["quantity"] if item else d["amount_vnd"]
            prog = self.programme(commune, category)
            if item:
                prog.stock[item] = prog.stock.get(item, 0) + want
            else:
                prog.cash += int(r["amount_vnd"])
            prog.allocated += int(r["amount_vnd"])
            self.counts["allocations"] += 1
            return r
        return None

    def need_vnd(self, commune: Area, category: str) -> int:
        return self.needs[(commune.code, category)] * NEED_UNIT_VND[category]

    def allocate_round(self, round_no: int, categories: tuple[str, ...]) -> None:
        """Goods first, then each fund pays its share of what the goods leave uncovered.

        When a fund holds less than its shares add up to, every share shrinks alike; money
        earmarked for a commune goes to that commune in any case."""
        rng = self.rng
        for category in categories:
            item = GOODS_FOR.get(category)
            if item:
                self.allocate_goods(round_no, category, item)
        for fund in FUNDS:
            targets: list[tuple[Area, str, float]] = []
            for category in categories:
                share = dict(FUND_SHARES[category]).get(fund)
                if not share:
                    continue
                for commune in self.communes:
                    prog = self.programmes.get((commune.code, category))
                    goods = prog.allocated if prog else 0
                    uncovered = max(self.need_vnd(commune, category) - goods, 0)
                    targets.append((commune, category, uncovered * share * rng.uniform(0.9, 1.1)))
            if not targets:
                continue
            held = sum(h.left for h in self.held.values() if h.fund == fund and not h.item)
            scale = min(1.0, held * 0.97 / max(sum(t for _, _, t in targets), 1))
            for commune, category, target in targets:
                earmarked = sum(
                    h.left for h in self.held.values()
                    if h.fund == fund and not h.item and h.left > 0
                    and h.restriction.get("commune") == commune.code
                    and h.restriction.get("category") in (None, category))
                self.allocate(round_no, fund, commune, category,
                              amount_vnd=max(int(target * scale), earmarked))
                self.tick()

    def top_up(self, round_no: int, categories: tuple[str, ...]) -> None:
        """Programmes still short of their need get a supplement, from the social campaign
        when their own funds have run dry."""
        for category in categories:
            for commune in self.communes:
                prog = self.programme(commune, category)
                goal = self.need_vnd(commune, category) * self.rng.uniform(0.85, 1.15)
                gap = int(goal) - prog.allocated
                funds = [f for f, _ in FUND_SHARES[category]]
                for fund in [*funds, *(["campaign"] if "campaign" not in funds else [])]:
                    if gap < 2_000_000:
                        break
                    r = self.allocate(round_no, fund, commune, category, amount_vnd=gap,
                                      note=f"{DEMO} Phân bổ bổ sung theo {DECISIONS[(2, fund)]}")
                    if r is not None:
                        gap -= int(r["amount_vnd"])
                self.tick()

    def allocate_goods(self, round_no: int, category: str, item: str) -> None:
        """Share out the goods the campaign holds among the communes, in proportion to need."""
        stock = sum(h.left for h in self.held.values() if h.fund == "campaign" and h.item == item)
        total_need = sum(self.needs[(c.code, category)] for c in self.communes)
        for commune in self.communes:
            quantity = int(stock * self.needs[(commune.code, category)] / total_need)
            if quantity > 0:
                self.allocate(round_no, "campaign", commune, category, item=item,
                              quantity=quantity)
            self.tick()

    def wrong_allocation(self, round_no: int) -> None:
        """An allocation to the wrong commune, reversed before anything was distributed."""
        rng = self.rng
        category = (ROUND_1 if round_no == 1 else ROUND_2)[0]
        commune = rng.choice(self.communes)
        note = f"{DEMO} Phân bổ đợt {round_no}: nhập nhầm xã, đã hủy và lập lại"
        r = self.allocate(round_no, "campaign", commune, category, amount_vnd=5_000_000,
                          note=note)
        if r is None:
            self.tick()
            return
        self.reverse(as_id(r["id"]), f"{DEMO} Phân bổ nhầm xã so với quyết định, hủy để lập lại")
        for d in r["drawn_from"]:
            self.held[as_id(d["receipt_id"])].left += d["amount_vnd"]
        self.programme(commune, category).cash -= int(r["amount_vnd"])
        self.programme(commune, category).allocated -= int(r["amount_vnd"])

    # ---- distributions ------------------------------------------------------------------------------

    def distribute(self, prog: _Programme, on: date, lines: list[dict[str, Any]], *,
                   beneficiaries: int | None = None, duplicate_reason: str | None = None,
                   note: str) -> Distributed | None:
        try:
            r = self.ledger.distribute(
                self.ctx(note), REQUEST_HASH, season=SEASON, commune=prog.commune.code,
                category=prog.category, distributed_on=on.isoformat(), lines=lines,
                beneficiaries_count=beneficiaries, duplicate_reason=duplicate_reason,
            )
        except DomainError as e:
            log.warning("demo: distribution in %s/%s skipped: %s", prog.commune.code,
                        prog.category, e)
            return None
        for line in lines:
            if line.get("item"):
                prog.stock[line["item"]] -= line["quantity"]
            else:
                prog.cash -= line["value_vnd"]
        self.counts["distributions"] += 1
        if duplicate_reason:
            self.counts["duplicate_overrides"] += int(r.get("overrides", 0))
        return r

    def give_back(self, prog: _Programme, lines: list[dict[str, Any]]) -> None:
        for line in lines:
            if line.get("item"):
                prog.stock[line["item"]] += line["quantity"]
            else:
                prog.cash += line["value_vnd"]

    def child_lines(self, prog: _Programme) -> list[dict[str, Any]]:
        rng = self.rng
        here = [c for c in self.children if c.commune == prog.commune.code]
        if prog.category == "tet-gifts":
            here = [c for c in here if c.special or rng.random() < 0.4]
        elif prog.category == "play-recreation":
            here = [c for c in here if rng.random() < 0.75]
        description, value = CHILD_LINE[prog.category]
        lines: list[dict[str, Any]] = []
        cash = prog.cash
        coats = prog.stock.get(COAT_ITEM, 0)
        milk = prog.stock.get(MILK_ITEM, 0)
        for child in here:
            if prog.category == "warm-clothing" and coats >= 1:
                coats -= 1
                lines.append({"child_id": child.id, "description": "Áo ấm trẻ em",
                              "item": COAT_ITEM, "unit": UNITS[COAT_ITEM], "quantity": 1})
            elif prog.category == "nutrition-health" and milk >= 4:
                milk -= 4
                lines.append({"child_id": child.id, "description": "Sữa bột cho trẻ",
                              "item": MILK_ITEM, "unit": UNITS[MILK_ITEM], "quantity": 4})
            elif cash >= value:
                cash -= value
                lines.append({"child_id": child.id, "description": description,
                              "quantity": 1, "value_vnd": value})
        return lines

    def distribute_round(self, categories: tuple[str, ...], *, redo_one: bool) -> None:
        rng = self.rng
        redone = not redo_one
        for category in categories:
            first, last = DISTRIBUTED_ON[category]
            for commune in self.communes:
                prog = self.programmes.get((commune.code, category))
                if prog is None:
                    self.tick(2)
                    continue
                on = self.day(first, last)
                note = f"{DEMO} Cấp phát hỗ trợ {CHILD_LINE[category][0].lower()}"
                lines = self.child_lines(prog)
                if lines:
                    r = self.distribute(prog, on, lines, note=note)
                    if r is not None:
                        prog.named = [line["child_id"] for line in lines]
                        if not redone and category == "play-recreation":
                            # A list drawn up wrongly: reversed, then handed out again.
                            self.reverse(as_id(r["id"]), f"{DEMO} Danh sách trẻ lập sai "
                                         "(thiếu chữ ký xác nhận), hủy để lập lại")
                            self.give_back(prog, lines)
                            self.distribute(prog, on + timedelta(days=2), lines, note=note)
                            redone = True
                self.tick()
                self.group(prog, on + timedelta(days=rng.randint(0, 5)))
                self.tick()

    def group(self, prog: _Programme, on: date) -> None:
        """Support for the surveyed children not on the register, counted, not named."""
        rng = self.rng
        surveyed = self.needs[(prog.commune.code, prog.category)]
        count = max(surveyed - len(prog.named), 0)
        if count == 0:
            return
        lines: list[dict[str, Any]] = []
        value = int(prog.cash * rng.uniform(0.85, 0.97)) // 100_000 * 100_000
        if value >= 1_000_000:
            lines.append({"description": GROUP_LINE[prog.category], "quantity": count,
                          "value_vnd": value})
        for kind_of in (COAT, MILK):
            item = str(kind_of["item"])
            if prog.stock.get(item, 0) > 0:
                lines.append({"description": f"{item} ({kind_of['unit']})", "item": item,
                              "unit": kind_of["unit"], "quantity": prog.stock[item]})
        if lines:
            self.distribute(prog, on, lines, beneficiaries=count,
                            note=f"{DEMO} Cấp phát cho {count} trẻ theo danh sách khảo sát")

    def distribute_top_ups(self, categories: tuple[str, ...]) -> None:
        """The supplements of round 2 reach the same surveyed children: not counted again."""
        rng = self.rng
        for category in categories:
            for commune in self.communes:
                self.tick()
                prog = self.programmes.get((commune.code, category))
                if prog is None:
                    continue
                value = int(prog.cash * rng.uniform(0.85, 0.97)) // 100_000 * 100_000
                if value < 1_000_000:
                    continue
                lines = [{"description": TOP_UP_LINE[category], "quantity": 1,
                          "value_vnd": value}]
                self.distribute(prog, self.day(date(2021, 11, 22), date(2021, 12, 24)), lines,
                                note=f"{DEMO} Cấp phát bổ sung đợt 2 cho nhóm trẻ đã khảo sát")

    def overrides(self, n: int) -> None:
        """A few children given Tết gifts twice, each time with the officer's recorded reason."""
        rng = self.rng
        value = 300_000
        candidates = [
            (prog, child) for prog in self.programmes.values() if prog.category == "tet-gifts"
            for child in prog.named if prog.cash >= value
        ]
        done = 0
        for prog, child in rng.sample(candidates, min(len(candidates), n * 3)):
            if done >= n or prog.cash < value:
                continue
            lines = [{"child_id": child, "description": "Hỗ trợ thêm quà Tết",
                      "quantity": 1, "value_vnd": value}]
            reason = (f"{DEMO} Trẻ mồ côi, hoàn cảnh đặc biệt khó khăn; UBND xã đề nghị "
                      "hỗ trợ thêm đợt 2")
            if self.distribute(prog, date(2021, 12, 30), lines, duplicate_reason=reason,
                               note=reason):
                done += 1
                self.tick()
        self.tick(n - done)
