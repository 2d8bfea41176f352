"""Donors, pledges and receipts as the public may see them (searchable, anonymous kept so), and
the public summary's totals.

Beside one row per receipt, the projection keeps the totals of the public overview small, so that
it reads a few hundred rows however many receipts and distributions there are (migration 0004):

- `public_received`: amount (and of it, goods at their value) and number of receipts per month
  and fund;
- `donors`: each donor's current public name (`display_name`, corrected by `Donor.Corrected`),
  which the public lists show; `public_donations.donor_display` keeps the name as recorded;
- `public_names`: receipts per searchable donor name (folded; anonymous donors have none), so
  that a name search finds the few names that match before it touches any receipt;
- `public_donor_years`: receipts per public donor (a public name, or one anonymous gift: see
  `public_donor`) and year, and over all years (year '*');
- `public_counters`: `donors:YYYY` / `donors:*`, the donors with a receipt that year / ever,
  `pledged_vnd`, what pledges promise (a cancelled one only the part it was paid:
  donors.counted_as_pledged), and `pledges`, the pledges not cancelled;
- `public_reach`: per grain (a season or all seasons; everywhere, a district or a commune; a
  category or all categories) the children reached, as distinct children (docs/public-figures.md),
  the children counted in groups, and the duplicate-support overrides;
- `public_reach_children`: distributions naming each child at each grain;
- `public_distributions` and `public_distribution_children`: what each distribution added, so that
  its reversal can take it out again.

Reversed receipts and distributions and cancelled pledges are taken out again, so the totals equal
the sums over the rows not reversed (a cancelled pledge's row counting for what it was paid). A
batch gathers its changes per key in memory and writes each key once, at the end of the batch;
every key a batch touches gets its row, even when its change nets to zero, so the rows never depend
on where the batches were cut (a rebuild equals the live projection). A distinct count (donors of a
year, children of a grain) changes when a member's own count crosses zero: during a rebuild the
projection knows every count (`Donations.counts`); otherwise on PostgreSQL the batch's one upsert
per table returns the new counts, and on SQLite one read before it gives the old ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from domain.donors import counted_as_pledged
from domain.leaf import receipt_reference
from domain.money import restriction_key
from domain.text import fold
from projections.base import Projection, handles, recorded_day
from projections.db import Cursor, Row

ANONYMOUS = "Ẩn danh"
ALL_YEARS = "*"
IN_LIST = 500  # ids per `IN (...)`, well below SQLite's limit on parameters
SEPARATOR = "\x1f"  # between the keys of one column in `_add` (E'\x1f' there)
COUNTS_LIMIT = 500_000  # distinct-count keys a rebuild keeps in memory (see Donations.counts)

Place = tuple[str, str, str, str]  # season, district, commune, category
ALL = "*"  # a grain's part that covers everything: all seasons, everywhere, all categories


@dataclass(frozen=True, slots=True)
class _Receipt:
    """What a receipt's reversal needs to know about it."""

    pledge_id: str | None
    amount_vnd: int
    received_on: str
    fund: str
    donor: str  # who counts as one donor in public: see public_donor
    donor_folded: str
    goods: bool = False  # goods, counted at their value, not money


def public_donor(display: str, reference: str) -> str:
    """The donors figure counts from public facts alone (docs/verifiable-log.md §8): a public
    name once, however many gifts; an anonymous gift once by itself, as nothing public may link
    an anonymous donor's gifts."""
    return f"gift:{reference}" if display == ANONYMOUS else f"name:{display}"


@dataclass(slots=True)
class _Pledge:
    """A pledge as this batch has it: its row as the batch began, plus the batch's changes."""

    amount_vnd: int
    received_vnd: int
    cancelled: bool

    @property
    def pledged_vnd(self) -> int:
        return counted_as_pledged(self.amount_vnd, self.received_vnd, self.cancelled)


@dataclass(frozen=True, slots=True)
class _Distribution:
    """What a distribution's reversal needs to know about it."""

    programme_id: str
    place: Place
    beneficiaries_count: int
    overrides: int
    children: tuple[str, ...]


class Donations(Projection):
    name = "donations"
    tables = ("donors", "pledges", "public_donations", "public_received", "public_names",
              "public_donor_years", "public_counters", "public_distributions",
              "public_distribution_children", "public_reach_children", "public_reach")

    def __init__(self) -> None:
        super().__init__()
        self.donors: dict[str, tuple[str, str]] = {}  # never changes once registered
        self.batch_receipts: dict[str, _Receipt] = {}  # not yet written
        self.batch_pledges: dict[str, _Pledge] = {}  # the pledges this batch touched
        # The pledges this batch makes, written at its end as batch_pledges has them then (an
        # UPDATE of a row made in the same batch would cost PostgreSQL a second version of it).
        self.new_pledges: dict[str, tuple[str, int, str, int, str | None]] = {}
        self.batch_distributions: dict[str, _Distribution] = {}  # not yet written
        # During a rebuild, every row of the distinct-count tables as the rebuild wrote it
        # (table → key → count): no one else writes them meanwhile, so a batch's crossings of
        # zero need not be read back from them. None when not known (see begin).
        self.counts: dict[str, dict[tuple[str, str], int]] | None = None
        self._reset_totals()

    def _reset_totals(self) -> None:
        self.received: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.names: defaultdict[str, int] = defaultdict(int)
        self.donor_years: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.counters: defaultdict[str, int] = defaultdict(int)
        # (child id, grain) → change in the distributions naming the child there
        self.child_grains: defaultdict[tuple[str, str], int] = defaultdict(int)
        # per grain: distinct children named, children counted in groups, overrides
        self.reached: defaultdict[Place, list[int]] = defaultdict(lambda: [0, 0, 0])

    def begin(self, cur: Cursor) -> None:
        super().begin(cur)
        self.batch_receipts = {}
        self.batch_pledges = {}
        self.new_pledges = {}
        self.batch_distributions = {}
        self._reset_totals()
        if not self.rebuilding:
            self.counts = None  # after a rebuild, or once a failed batch took its rows back

    def clear(self, cur: Cursor) -> None:
        super().clear(cur)
        self.donors.clear()
        self.counts = {"public_donor_years": {}, "public_reach_children": {}}

    # ---- donors and pledges -------------------------------------------------------------------

    @handles("Donor.Registered")
    def donor(self, cur: Cursor, e: Any, position: int) -> None:
        # The legal name is sealed in the event (DESIGN §6): only the public name is known here,
        # and `donors.name` stays empty (the staff query decrypts the legal name).
        display = ANONYMOUS if e.anonymous else (e.public_name or ANONYMOUS)
        # An anonymous donor's name is not searchable: searching it must not reveal the gift.
        folded = "" if e.anonymous else fold(e.public_name or "")
        self.insert(
            "INSERT INTO donors (donor_id, position, name, kind, public_name, anonymous,"
            " display_name, display_folded) VALUES (?,?,?,?,?,?,?,?)",
            (str(e.originator_id), position, "", e.kind, e.public_name, int(e.anonymous),
             display, folded),
        )
        self.donors[str(e.originator_id)] = (display, folded)

    @handles("Donor.Corrected")
    def donor_corrected(self, cur: Cursor, e: Any, position: int) -> None:
        """A corrected public name (or anonymity) is what the public lists show and search from
        now on, for the donor's earlier receipts too. `donor_display` keeps the name each receipt
        was recorded with, as its leaf does, since the donors figure counts those
        (tools/public_figures.py recomputes it from the leaves); the lists read the donor's
        current name from `donors` (projections/queries.py)."""
        public = e.public
        if not public:
            return
        donor_id = str(e.originator_id)
        # The batch's writes so far go out first, so that the donor's receipts of this batch are
        # in the table with the rest; the cached receipts are then read back from their rows.
        Projection.finish(self, cur)
        self.batch_receipts.clear()
        row = cur.execute("SELECT kind, public_name, anonymous FROM donors WHERE donor_id = ?",
                          (donor_id,)).fetchone()
        assert row is not None, f"correction at {position} names an unknown donor"
        kind = public.get("kind", row["kind"])
        public_name = public.get("public_name", row["public_name"])
        anonymous = bool(public.get("anonymous", bool(row["anonymous"])))
        display = ANONYMOUS if anonymous else (public_name or ANONYMOUS)
        folded = "" if anonymous else fold(public_name or "")
        cur.execute("UPDATE donors SET kind = ?, public_name = ?, anonymous = ?, display_name = ?,"
                    " display_folded = ? WHERE donor_id = ?",
                    (kind, public_name, int(anonymous), display, folded, donor_id))
        # The searchable names move with the receipts not reversed (a reversal takes a receipt
        # out of the name its row has, the corrected one from now on).
        for r in cur.execute("SELECT donor_folded, COUNT(*) AS n FROM public_donations"
                             " WHERE donor_id = ? AND reversed = 0 GROUP BY donor_folded",
                             (donor_id,)).fetchall():
            if r["donor_folded"]:
                self.names[r["donor_folded"]] -= int(r["n"])
            if folded:
                self.names[folded] += int(r["n"])
        cur.execute("UPDATE public_donations SET donor_folded = ? WHERE donor_id = ?", (folded, donor_id))
        self.donors[donor_id] = (display, folded)

    @handles("Pledge.Made")
    def pledge(self, cur: Cursor, e: Any, position: int) -> None:
        pledge_id = str(e.originator_id)
        self.new_pledges[pledge_id] = (pledge_id, position, str(e.donor_id), e.amount_vnd, e.due_on)
        self.batch_pledges[pledge_id] = _Pledge(e.amount_vnd, 0, False)
        self.counters["pledged_vnd"] += e.amount_vnd
        self.counters["pledges"] += 1

    @handles("Pledge.Cancelled")
    def pledge_cancelled(self, cur: Cursor, e: Any, position: int) -> None:
        # The ledger cancels a pledge at most once (a second cancellation is refused).
        pledge_id = str(e.originator_id)
        if pledge_id not in self.new_pledges:
            self.update("UPDATE pledges SET cancelled = 1 WHERE pledge_id = ?", (pledge_id,))
        self._change_pledge(cur, pledge_id, position, cancelled=True)
        self.counters["pledges"] -= 1

    def _change_pledge(self, cur: Cursor, pledge_id: str, position: int, *, received_vnd: int = 0,
                       cancelled: bool = False) -> None:
        """Count a pledge's new payment (or a reversed one) or its cancellation in `pledged_vnd`.
        The row is read once a batch: the batch's writes wait for its end, so the row is the
        state as the batch began, and the batch's own changes are in `batch_pledges`."""
        pledge = self.batch_pledges.get(pledge_id)
        if pledge is None:
            row = cur.execute("SELECT amount_vnd, received_vnd, cancelled FROM pledges"
                              " WHERE pledge_id = ?", (pledge_id,)).fetchone()
            assert row is not None, f"pledge {pledge_id} unknown at position {position}"
            pledge = self.batch_pledges[pledge_id] = _Pledge(
                int(row["amount_vnd"]), int(row["received_vnd"]), bool(row["cancelled"]))
        before = pledge.pledged_vnd
        pledge.received_vnd += received_vnd
        pledge.cancelled = pledge.cancelled or cancelled
        self.counters["pledged_vnd"] += pledge.pledged_vnd - before

    # ---- receipts -----------------------------------------------------------------------------

    @handles("Receipt.Recorded")
    def receipt(self, cur: Cursor, e: Any, position: int) -> None:
        donor_id = str(e.donor_id)
        if donor_id not in self.donors:
            row = cur.execute("SELECT display_name, display_folded FROM donors WHERE donor_id = ?",
                              (donor_id,)).fetchone()
            assert row is not None, f"receipt at {position} names an unknown donor"
            self.donors[donor_id] = (row["display_name"], row["display_folded"])
        display, folded = self.donors[donor_id]
        # The name the receipt's leaf shows, when the event has it (see donor_corrected).
        if getattr(e, "donor_name", None):
            display = e.donor_name
        self.insert(
            "INSERT INTO public_donations (receipt_id, reference, position, donor_id, donor_display,"
            " donor_folded, pledge_id, fund, channel, amount_vnd, item, quantity, received_on,"
            " restriction, mobilised_by, recorded_on) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (str(e.originator_id), receipt_reference(e.received_on, position), position,
             donor_id, display, folded,
             str(e.pledge_id) if e.pledge_id else None, e.fund, e.channel, e.amount_vnd,
             e.goods["item"] if e.goods else None, e.goods["quantity"] if e.goods else 0,
             e.received_on, restriction_key(e.restriction), e.mobilised_by, recorded_day(e)),
        )
        pledge_id = str(e.pledge_id) if e.pledge_id else None
        reference = receipt_reference(e.received_on, position)
        receipt = _Receipt(pledge_id, e.amount_vnd, e.received_on, e.fund,
                           public_donor(display, reference), folded, goods=bool(e.goods))
        self.batch_receipts[str(e.originator_id)] = receipt
        if pledge_id:
            self._pledge_received(cur, pledge_id, e.amount_vnd, position)
        self._received(receipt, 1)

    @handles("Receipt.Reversed")
    def receipt_reversed(self, cur: Cursor, e: Any, position: int) -> None:
        # The ledger reverses a receipt at most once (a second reversal is refused).
        receipt_id = str(e.originator_id)
        if receipt_id not in self.batch_receipts:
            row = cur.execute("SELECT pledge_id, amount_vnd, received_on, fund, donor_display,"
                              " reference, donor_folded, item FROM public_donations"
                              " WHERE receipt_id = ?", (receipt_id,)).fetchone()
            assert row is not None, f"receipt {receipt_id} unknown at position {position}"
            self.batch_receipts[receipt_id] = _Receipt(
                row["pledge_id"], int(row["amount_vnd"]), row["received_on"], row["fund"],
                public_donor(row["donor_display"], row["reference"]), row["donor_folded"],
                goods=row["item"] is not None)
        receipt = self.batch_receipts[receipt_id]
        self.update("UPDATE public_donations SET reversed = 1 WHERE receipt_id = ?", (receipt_id,))
        if receipt.pledge_id:
            self._pledge_received(cur, receipt.pledge_id, -receipt.amount_vnd, position)
        self._received(receipt, -1)

    def _pledge_received(self, cur: Cursor, pledge_id: str, amount_vnd: int, position: int) -> None:
        # A receipt reversed after its pledge was cancelled lowers what the pledge counts for;
        # one recorded while its pledge was being cancelled raises it (the ledger refuses a
        # receipt for a cancelled pledge, but does not lock the pledge to record one).
        if pledge_id not in self.new_pledges:
            self.update("UPDATE pledges SET received_vnd = received_vnd + ? WHERE pledge_id = ?",
                        (amount_vnd, pledge_id))
        self._change_pledge(cur, pledge_id, position, received_vnd=amount_vnd)

    def _received(self, r: _Receipt, sign: int) -> None:
        """A receipt counted in (sign 1) or, once reversed, out again (sign -1)."""
        totals = self.received[(r.received_on[:7], r.fund)]
        totals[0] += sign * r.amount_vnd
        totals[1] += sign
        totals[2] += (sign * r.amount_vnd) if r.goods else 0
        if r.donor_folded:
            self.names[r.donor_folded] += sign
        self.donor_years[(r.donor, r.received_on[:4])] += sign
        self.donor_years[(r.donor, ALL_YEARS)] += sign

    # ---- distributions: children reached ------------------------------------------------------

    @handles("Distribution.Made")
    def distribution(self, cur: Cursor, e: Any, position: int) -> None:
        # The ledger refuses a child on two lines of one distribution; a set all the same.
        children = tuple(sorted({str(line["child_id"]) for line in e.lines if line.get("child_id")}))
        made = _Distribution(str(e.programme_id), (e.season, e.district, e.commune, e.category),
                             e.beneficiaries_count, e.overrides, children)
        distribution_id = str(e.originator_id)
        self.insert(
            "INSERT INTO public_distributions (distribution_id, programme_id, season, district,"
            " commune, category, beneficiaries_count, overrides) VALUES (?,?,?,?,?,?,?,?)",
            (distribution_id, made.programme_id, *made.place, made.beneficiaries_count,
             made.overrides))
        for child in children:
            self.insert("INSERT INTO public_distribution_children (distribution_id, child_id)"
                        " VALUES (?,?)", (distribution_id, child))
        self.batch_distributions[distribution_id] = made
        self._reached(made, 1)

    @handles("Distribution.Reversed")
    def distribution_reversed(self, cur: Cursor, e: Any, position: int) -> None:
        # The ledger reverses a distribution at most once (a second reversal is refused).
        distribution_id = str(e.originator_id)
        if distribution_id not in self.batch_distributions:
            row = cur.execute(
                "SELECT programme_id, season, district, commune, category, beneficiaries_count,"
                " overrides FROM public_distributions WHERE distribution_id = ?",
                (distribution_id,)).fetchone()
            assert row is not None, f"distribution {distribution_id} unknown at position {position}"
            children = cur.execute("SELECT child_id FROM public_distribution_children"
                                   " WHERE distribution_id = ?", (distribution_id,)).fetchall()
            self.batch_distributions[distribution_id] = _Distribution(
                row["programme_id"],
                (row["season"], row["district"], row["commune"], row["category"]),
                int(row["beneficiaries_count"]), int(row["overrides"]),
                tuple(sorted(c["child_id"] for c in children)))
        self._reached(self.batch_distributions[distribution_id], -1)

    def _reached(self, d: _Distribution, sign: int) -> None:
        """A distribution counted in (sign 1) or, once reversed, out again (sign -1), at every
        grain it belongs to. Its `beneficiaries_count` counts only when it names no child
        (docs/public-figures.md): a count beside named lines may include them."""
        counted = 0 if d.children else d.beneficiaries_count
        for grain in grains(d.place):
            totals = self.reached[grain]
            totals[1] += sign * counted
            totals[2] += sign * d.overrides
            key = "|".join(grain)
            for child in d.children:
                self.child_grains[(child, key)] += sign

    # ---- the end of a batch: every total written once -------------------------------------------

    def finish(self, cur: Cursor) -> None:
        for pledge_id, row in self.new_pledges.items():
            pledge = self.batch_pledges[pledge_id]
            self.insert("INSERT INTO pledges (pledge_id, position, donor_id, amount_vnd, due_on,"
                        " received_vnd, cancelled) VALUES (?,?,?,?,?,?,?)",
                        (*row, pledge.received_vnd, int(pledge.cancelled)))
        self.new_pledges = {}
        super().finish(cur)
        _add(cur, "public_received", ("month", "fund"), ("received_vnd", "receipts", "goods_vnd"),
             [(*key, *totals) for key, totals in self.received.items()])
        _add(cur, "public_names", ("folded",), ("receipts",),
             [(name, n) for name, n in self.names.items()])
        if self.counts is not None and sum(map(len, self.counts.values())) > COUNTS_LIMIT:
            self.counts = None
        counts = self.counts or {}
        for (_, year), crossed in _crossings(cur, "public_donor_years", ("donor_id", "year"),
                                             "receipts", self.donor_years,
                                             counts.get("public_donor_years")):
            self.counters[f"donors:{year}"] += crossed
        for (_, grain), crossed in _crossings(cur, "public_reach_children", ("child_id", "grain"),
                                              "distributions", self.child_grains,
                                              counts.get("public_reach_children")):
            season, district, commune, category = grain.split("|")
            self.reached[(season, district, commune, category)][0] += crossed
        _add(cur, "public_reach", ("season", "district", "commune", "category"),
             ("named_children", "counted_children", "overrides"),
             [(*place, *totals) for place, totals in self.reached.items()])
        _add(cur, "public_counters", ("name",), ("value",),
             [(name, n) for name, n in self.counters.items()])
        self._reset_totals()


def grains(place: Place) -> Iterator[Place]:
    """The grains a distribution at `place` counts in: its season or all seasons; everywhere, its
    district, or its commune (a commune is always within its district); its category or all."""
    season, district, commune, category = place
    for s in (season, ALL):
        for d, c in ((ALL, ALL), (district, ALL), (district, commune)):
            for k in (category, ALL):
                yield s, d, c, k


def _add(cur: Cursor, table: str, keys: tuple[str, ...], counts: tuple[str, ...],
         rows: list[tuple[Any, ...]], returning: bool = False) -> list[Row]:
    """Add each row's counts to the row of its keys (made if missing): text keys, BIGINT counts.
    On PostgreSQL one statement for all the rows, which can return their new counts; on SQLite
    one statement per row, and nothing returned."""
    if not rows:
        return []
    rows = sorted(rows)
    columns = (*keys, *counts)
    adding = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts)
    conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {adding}"
    if cur.dialect != "postgresql":
        assert not returning
        cur.executemany(f"INSERT INTO {table} ({', '.join(columns)})"
                        f" VALUES ({','.join('?' * len(columns))}) {conflict}", rows)
        return []
    # Each column as one string that the server splits: psycopg dumps a list of 10,000 strings
    # as an array in Python, five times slower than joining them. A key column holding the
    # separator, or an empty key (which would split into nothing), goes as an array.
    arrays: list[str] = []
    params: list[Any] = []
    for i, column in enumerate(zip(*rows, strict=True)):
        if i >= len(keys):
            arrays.append("string_to_array(?, ',')::bigint[]")
            params.append(",".join(map(str, column)))
        elif "" not in column and (joined := SEPARATOR.join(column)).count(SEPARATOR) == len(column) - 1:
            arrays.append(r"string_to_array(?, E'\x1f')")
            params.append(joined)
        else:
            arrays.append("?::text[]")
            params.append(list(column))
    cur.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({', '.join(arrays)})"
                f" {conflict}" + (f" RETURNING {', '.join(columns)}" if returning else ""), params)
    return cur.fetchall() if returning else []


def _crossings(cur: Cursor, table: str, keys: tuple[str, str], count: str,
               changes: dict[tuple[str, str], int], known: dict[tuple[str, str], int] | None = None,
               ) -> Iterator[tuple[tuple[str, str], int]]:
    """Add `changes` ((member, group) → change) to `table`'s `count` column, and yield for each
    key 1 if its count went from 0 to more, -1 if it fell back to 0, else 0: how the number of
    distinct members of the group changed. The member leads the table's primary key. `known`,
    if given, is every row of the table (key → count), kept up to date here."""
    if not changes:
        return
    member, group = keys
    if known is not None:
        _add(cur, table, keys, (count,), [(*key, n) for key, n in changes.items()])
        after = {key: known.get(key, 0) + change for key, change in changes.items()}
        known.update(after)
    elif cur.dialect == "postgresql":
        rows = _add(cur, table, keys, (count,), [(*key, n) for key, n in changes.items()],
                    returning=True)
        after = {(r[member], r[group]): int(r[count]) for r in rows}
    else:
        members = sorted({m for m, _ in changes})
        before: dict[tuple[str, str], int] = {}
        for start in range(0, len(members), IN_LIST):
            chunk = members[start:start + IN_LIST]
            found = cur.execute(f"SELECT {member}, {group}, {count} FROM {table}"
                                f" WHERE {member} IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            before.update(((r[member], r[group]), int(r[count])) for r in found)
        _add(cur, table, keys, (count,), [(*key, n) for key, n in changes.items()])
        after = {key: before.get(key, 0) + change for key, change in changes.items()}
    for key, change in changes.items():
        new = after[key]
        yield key, int(new > 0) - int(new - change > 0)
