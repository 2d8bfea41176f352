"""Anyone can recompute the public figures: tools/public_figures.py over the public export gives
the money figures of /public/summary (docs/verifiable-log.md §8)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.small_cells import small
from ledger.bootstrap import CompositionRoot
from tests.helpers import API, communes, donor, get, post, receipt

TOOL = Path(__file__).resolve().parents[2] / "tools" / "public_figures.py"
_spec = importlib.util.spec_from_file_location("public_figures", TOOL)
assert _spec and _spec.loader
public_figures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public_figures)

MONEY = ("received_vnd", "received_goods_vnd", "allocated_vnd", "distributed_vnd", "by_fund",
         "by_month")


def recomputed(client: TestClient, services: CompositionRoot, season: str | None = None) -> dict[str, Any]:
    services.runner.catch_up()
    services.tree_heads.publish()
    export = client.get(f"{API}/public/export")
    if export.status_code == 404:  # an empty log: no tree head yet, nothing received
        return public_figures.figures([], season)
    assert export.status_code == 200, export.text
    return public_figures.figures(public_figures.public_leaves(export.content.splitlines()), season)


def money_of(summary: dict[str, Any]) -> dict[str, Any]:
    out = {k: summary[k] for k in MONEY}
    for key in ("by_category", "by_district"):
        name = key.removeprefix("by_")
        out[key] = [{name: r[name], "allocated_vnd": r["allocated_vnd"],
                     "distributed_vnd": r["distributed_vnd"]} for r in summary[key]]
    return out


def test_the_figures_recomputed_from_the_public_export_are_the_summary(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    commune = communes(services)[0]
    named = donor(client, fin, name="Công ty TNHH Hòa Bình", kind="business")
    hidden = donor(client, fin, name="Đỗ Quang Vinh", anonymous=True)
    gifts = [receipt(client, fin, named, 2_000_000),
             receipt(client, fin, hidden, 500_000, received_on="2021-05-02"),
             receipt(client, fin, named, 700_000, fund="child-protection-fund")]
    post(client, "/reversals", fin, {"target_id": gifts[2]["id"], "reason": "nhập nhầm"})
    # Goods count at their value, and apart as goods; a reversed one no longer counts.
    goods = [post(client, "/receipts", fin, {
        "donor_id": named, "fund": "campaign", "received_on": "2021-05-02", "channel": "in_kind",
        "in_kind": {"item": "Áo ấm", "unit": "cái", "quantity": n, "unit_value_vnd": 100_000}})
        for n in (3, 4)]
    post(client, "/reversals", fin, {"target_id": goods[1]["id"], "reason": "nhập nhầm"})
    allocation = post(client, "/allocations", fin, {
        "fund": "campaign", "season": "2021", "commune": commune, "category": "warm-clothing",
        "amount_vnd": 1_200_000, "decision_ref": "QĐ 1"})
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021", "commune": commune,
                                       "category": "other", "amount_vnd": 300_000,
                                       "decision_ref": "QĐ 2"})
    post(client, "/distributions", fin, {
        "season": "2021", "commune": commune, "category": "warm-clothing",
        "distributed_on": "2021-06-01", "beneficiaries_count": 12,
        "lines": [{"description": "áo ấm", "quantity": 12, "value_vnd": 600_000}]})
    assert allocation["amount_vnd"] == 1_200_000
    figures = recomputed(client, services)
    summary = get(client, "/public/summary")
    assert money_of(figures) == money_of(summary)
    assert figures["received_vnd"] == 2_800_000 and figures["allocated_vnd"] == 1_500_000
    assert figures["received_goods_vnd"] == summary["received_goods_vnd"] == 300_000
    assert figures["distributed_vnd"] == 600_000
    # One named donor (by public name) and one anonymous gift; the summary hides counts below 5.
    assert figures["donors"] == 2
    assert summary["donors"] == small(figures["donors"]) == "< 5"
    assert money_of(recomputed(client, services, "2021")) == money_of(
        get(client, "/public/summary", season="2021"))


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 9), st.sampled_from(["campaign", "fund-for-the-poor"]),
                          st.integers(1, 12), st.booleans()), min_size=1, max_size=6),
       st.data())
def test_for_random_small_ledgers_the_public_export_gives_the_summary(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str],
        gifts: list[tuple[int, str, int, bool]], data: st.DataObject) -> None:
    fin = tokens["finance"]
    commune = communes(services)[0]
    before = recomputed(client, services)
    d = donor(client, fin, name="Nhà hảo tâm")
    made = []
    for amount, fund, month, reverse in gifts:
        r = receipt(client, fin, d, amount * 100_000, fund=fund, received_on=f"2021-{month:02d}-03")
        made.append((r, amount, fund))
        if reverse:
            post(client, "/reversals", fin, {"target_id": r["id"], "reason": "sai"})
    kept = [(r, a, f) for (r, a, f), g in zip(made, gifts, strict=True) if not g[3]]
    if kept:
        r, amount, fund = data.draw(st.sampled_from(kept))
        allocation = post(client, "/allocations", fin, {
            "fund": fund, "season": "2021", "commune": commune, "category": "nutrition-health",
            "amount_vnd": amount * 100_000, "decision_ref": "QĐ"})
        if data.draw(st.booleans()):
            post(client, "/reversals", fin, {"target_id": allocation["id"], "reason": "sai"})
    figures = recomputed(client, services)
    summary = get(client, "/public/summary")
    assert money_of(figures) == money_of(summary)
    assert summary["donors"] == small(figures["donors"])  # the same definition, from public facts
    assert figures["received_vnd"] - before["received_vnd"] == sum(a * 100_000 for _, a, _ in kept)
