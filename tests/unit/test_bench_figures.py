"""The benchmark's bookkeeping, without timing anything: how a figure is judged, percentiles, the
projection lag told from samples, and that the Yagi day's statements reconcile by construction."""

from __future__ import annotations

import uuid

import pytest

from adapters.statements import parse_statements
from bench.figures import Figure, percentile
from bench.mixed_load import LagSample, lag_seconds
from bench.yagi_day import API_SHARE, DAYS, PLEDGE_SHARE, as_one_csv, plan
from domain.matching import find_payment_codes, find_receipt_references, payment_code


def figure(value: float, baseline: float, *, target: float | None = None,
           target_ratio: float | None = None, lower_is_better: bool = False) -> Figure:
    return Figure(name="x", value=value, unit="u/s", baseline=baseline, baseline_unit="u/s",
                  target=target, target_ratio=target_ratio, lower_is_better=lower_is_better)


def test_a_ratio_target_is_judged_on_the_ratio_and_reported_in_the_value_unit() -> None:
    fast_machine = figure(450.0, 6_000.0, target_ratio=0.05)
    slow_machine = figure(150.0, 2_000.0, target_ratio=0.05)
    assert fast_machine.met and slow_machine.met
    assert not figure(90.0, 2_000.0, target_ratio=0.05).met
    assert fast_machine.as_dict()["target"] == 300.0
    assert set(fast_machine.as_dict()) == {"name", "value", "unit", "baseline", "baseline_unit", "ratio",
                                           "target", "met"}


def test_a_lower_is_better_ratio_target_wants_the_ratio_below_it() -> None:
    assert figure(20.0, 10.0, target_ratio=3.0, lower_is_better=True).met
    assert not figure(40.0, 10.0, target_ratio=3.0, lower_is_better=True).met


def test_an_absolute_target_ignores_the_baseline() -> None:
    assert figure(299.0, 1.0, target=300.0, lower_is_better=True).met
    assert not figure(301.0, 1_000.0, target=300.0, lower_is_better=True).met
    assert figure(0.0, 5_000.0, target=0, lower_is_better=True).met
    assert not figure(1.0, 5_000.0, target=0, lower_is_better=True).met


def test_a_figure_takes_exactly_one_kind_of_target() -> None:
    with pytest.raises(ValueError):
        figure(1.0, 1.0)
    with pytest.raises(ValueError):
        figure(1.0, 1.0, target=1.0, target_ratio=1.0)


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.99)
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_the_lag_of_a_sample_is_the_time_until_its_head_was_projected() -> None:
    samples = [LagSample(0.0, 10, 10), LagSample(1.0, 20, 10), LagSample(2.0, 30, 15),
               LagSample(3.0, 30, 25), LagSample(4.0, 30, 30), LagSample(5.0, 40, 30)]
    # The last sample's head (40) is never reached: left out.
    assert lag_seconds(samples) == [0.0, 2.0, 2.0, 1.0, 0.0]


def test_the_yagi_days_statements_balance_and_every_line_has_one_way_to_match() -> None:
    donors = [str(uuid.uuid4()) for _ in range(50)]
    pledges = [uuid.uuid4() for _ in range(30)]
    codes = {payment_code(p) for p in pledges}
    donations = 2_000
    days = plan(donations, donors, pledges)
    assert len(days) == DAYS
    assert sum(len(d.statement.lines) for d in days) == donations
    api_txns = [r["bank_txn_id"] for d in days for r in d.receipts]
    assert len(api_txns) == round(donations * API_SHARE)
    seen_txns: set[str] = set()
    pledged = unknown = 0
    for previous, day in zip([None, *days], days, strict=False):
        if previous is not None:  # no gap: each day opens where the last closed
            assert day.statement.opening_balance_vnd == previous.statement.closing_balance_vnd
        parsed, = parse_statements(day.data, day.format, None)  # the bank's file reads back, balanced
        assert len(parsed.lines) == len(day.statement.lines)
        day_txns = {r["bank_txn_id"] for r in day.receipts}
        assert all(r["received_on"] == day.on.isoformat() and r["fund"] == "campaign" for r in day.receipts)
        for line in day.statement.lines:
            assert line.booked_on == day.on and line.amount_vnd > 0 and line.bank_txn_id
            assert line.bank_txn_id not in seen_txns
            seen_txns.add(line.bank_txn_id)
            found = find_payment_codes(line.description)
            assert not find_receipt_references(line.description)
            if line.bank_txn_id in day_txns:
                assert not found
            elif found:
                assert len(found) == 1 and found[0] in codes
                pledged += 1
            else:
                unknown += 1
        assert day.unknown == sum(1 for line in day.statement.lines if line.bank_txn_id not in day_txns
                                  and not find_payment_codes(line.description))
    assert set(api_txns) <= seen_txns
    assert pledged == round(donations * PLEDGE_SHARE)
    assert unknown == donations - len(api_txns) - pledged
    assert parse_statements(as_one_csv(days), "csv", None)[0].closing_balance_vnd == \
        days[-1].statement.closing_balance_vnd

