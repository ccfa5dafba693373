"""Accuracy-curve bookkeeping: where time to target is read, best and final accuracy."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_snnbench.curve import AccuracyCurve, CurvePoint

accuracies = st.lists(st.floats(min_value=0, max_value=1), min_size=0, max_size=30)


def build(target: float, values: list[float]) -> AccuracyCurve:
    curve = AccuracyCurve(target)
    for i, accuracy in enumerate(values):
        curve.add(CurvePoint(epoch=1 + i // 5, samples=100 * (i + 1), seconds=1.5 * (i + 1), accuracy=accuracy,
                             loss=None))
    return curve


@given(st.floats(min_value=0, max_value=1), accuracies)
def test_first_reaching_is_the_earliest_point_at_or_above_target(target: float, values: list[float]) -> None:
    curve = build(target, values)
    hits = [i for i, value in enumerate(values) if value >= target]
    if hits:
        assert curve.reached and curve.first_reaching is curve.points[hits[0]]
        assert all(p.accuracy < target for p in curve.points[:hits[0]])
    else:
        assert not curve.reached and curve.first_reaching is None


@given(st.floats(min_value=0, max_value=1), accuracies)
def test_best_and_final_accuracy(target: float, values: list[float]) -> None:
    curve = build(target, values)
    assert curve.best_accuracy == (max(values) if values else None)
    assert curve.final_accuracy == (values[-1] if values else None)
    assert curve.accuracies() == values
    assert [r["accuracy"] for r in curve.as_records()] == values


def test_points_must_come_in_training_order() -> None:
    curve = build(0.5, [0.1, 0.2])
    with pytest.raises(ValueError):
        curve.add(CurvePoint(epoch=1, samples=50, seconds=9.0, accuracy=0.3, loss=None))


def test_format_marks_the_point_where_the_target_was_reached() -> None:
    text = build(0.5, [0.2, 0.6, 0.7]).format()
    assert text.count("<- target") == 1 and "60.00%" in text.splitlines()[2]
