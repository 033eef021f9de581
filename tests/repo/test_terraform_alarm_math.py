"""The "no successful ingest in a day" alarm, evaluated: its metric math and settings read from modules/alarms, run
on the hourly Lambda metrics of a good day, a failed run, a missing run and the hours just after the first apply.

moto stores metric-math alarms but does not evaluate them (its expression parser only looks ids up), so this test
evaluates the alarm the way CloudWatch documents it:
- each metric query gives one Sum per hour that has data (Lambda stamps an invocation's metrics with its start);
- ``FILL(m, 0)`` gives a value for every hour of the range, 0 where m has none, provided m exists (has ever been
  published); a metric never published (a function never invoked) yields no data, and FILL has nothing to fill;
- ``a - b`` is computed where both series have a value;
- the alarm looks at the last ``evaluation_periods`` hours and fires when at least ``datapoints_to_alarm`` of them
  breach; a missing point counts as ``treat_missing_data`` says.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.hcl import blocks, load, resource, values

ROOT = Path(__file__).resolve().parents[2]
ALARMS = ROOT / "terraform" / "modules" / "alarms"
Series = dict[int, float]  # hour (0 = the hour being evaluated, -1 the one before...) -> value


@dataclass(frozen=True)
class Alarm:
    expression: str
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing_data: str
    period: int


def _setting(body: dict[str, Any], name: str) -> Any:
    """A setting of the alarm; ``"${var.x}"`` is variable x's default (the value dev and prod deploy)."""
    assert name in body, f"{name} not set"
    value = body[name]
    if isinstance(value, str) and (var := re.fullmatch(r"\$\{var\.(\w+)\}", value)):
        default = blocks(load(ALARMS / "variables.tf"), "variable")[var.group(1)].get("default")
        assert isinstance(default, int), f"variable {var.group(1)} has no numeric default"
        return default
    return value


def read_alarm() -> Alarm:
    body = resource(load(ALARMS / "main.tf"), "aws_cloudwatch_metric_alarm", "no_daily_success")
    periods = set(values(body, "period"))
    assert len(periods) == 1, f"one period for every metric query, not {periods}"
    [expression] = [q["expression"] for q in body["metric_query"] if q.get("return_data")]
    return Alarm(
        expression=expression,
        evaluation_periods=int(_setting(body, "evaluation_periods")),
        datapoints_to_alarm=int(_setting(body, "datapoints_to_alarm")),
        threshold=float(_setting(body, "threshold")),
        comparison=_setting(body, "comparison_operator"),
        treat_missing_data=_setting(body, "treat_missing_data"),
        period=int(periods.pop()),
    )


def evaluate(expression: str, metrics: dict[str, Series | None], hours: range) -> Series:
    """The expression's values over ``hours``; a metric is ``None`` when it has never been published."""

    def walk(node: ast.AST) -> Series:
        if isinstance(node, ast.Name):
            found = metrics[node.id]
            return {} if found is None else {h: v for h, v in found.items() if h in hours}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "FILL":
            target, fill = node.args
            assert isinstance(fill, ast.Constant), "only FILL(m, <number>) is modelled"
            if isinstance(target, ast.Name) and metrics[target.id] is None:
                return {}  # nothing to fill: the metric does not exist
            series = walk(target)
            return {h: series.get(h, float(fill.value)) for h in hours}
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            left, right = walk(node.left), walk(node.right)
            sign = 1 if isinstance(node.op, ast.Add) else -1
            return {h: left[h] + sign * right[h] for h in hours if h in left and h in right}
        raise AssertionError(f"not modelled: {ast.dump(node)}")

    return walk(ast.parse(expression, mode="eval").body)


def fires(alarm: Alarm, metrics: dict[str, Series | None]) -> bool:
    assert alarm.period == 3600, "the cases below are written in hours"
    hours = range(-(alarm.evaluation_periods - 1), 1)
    values = evaluate(alarm.expression, metrics, hours)
    compare = {
        "LessThanThreshold": lambda v: v < alarm.threshold,
        "LessThanOrEqualToThreshold": lambda v: v <= alarm.threshold,
        "GreaterThanThreshold": lambda v: v > alarm.threshold,
    }[alarm.comparison]
    breaching = 0
    for hour in hours:
        if hour in values:
            breaching += compare(values[hour])
        else:
            breaching += alarm.treat_missing_data == "breaching"
    return breaching >= alarm.datapoints_to_alarm


def runs(*hours: int, failed: tuple[int, ...] = ()) -> dict[str, Series | None]:
    """Lambda's hourly Invocations and Errors for runs started at ``hours`` (hour 0 is now)."""
    invocations = dict.fromkeys((*hours, *failed), 1.0)
    return {"invocations": invocations, "errors": dict.fromkeys(failed, 1.0)}


NEVER_INVOKED: dict[str, Series | None] = {"invocations": None, "errors": None}


def test_the_evaluator_reads_the_module() -> None:
    alarm = read_alarm()
    assert alarm.expression == "FILL(invocations, 0) - FILL(errors, 0)"
    assert (alarm.period, alarm.evaluation_periods, alarm.datapoints_to_alarm) == (3600, 26, 26)


@pytest.mark.parametrize(
    ("case", "metrics", "expected"),
    [
        ("a good day: yesterday's 06:00 run succeeded, 20 hours ago", runs(-44, -20), False),
        ("a good day seen from just before the next run", runs(-48, -24), False),
        ("today's run still going: not published yet, yesterday's counts", runs(-24), False),
        ("the last success at the window's first hour", runs(-25), False),
        ("a failed run: today's failed, yesterday's success 30 hours ago", runs(-30, failed=(-6,)), True),
        ("failed twice running", runs(failed=(-30, -6)), True),
        ("a missing run: the schedule stopped after a success 30 hours ago", runs(-54, -30), True),
        ("a success 26 hours ago is out of the window", runs(-26), True),
        ("just after apply: the function was never invoked", NEVER_INVOKED, False),
        ("a retried run: the first attempt failed, the retry succeeded", runs(-5, failed=(-6,)), False),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_no_success_in_a_day(case: str, metrics: dict[str, Series | None], expected: bool) -> None:
    assert fires(read_alarm(), metrics) is expected, case


def test_the_evaluator_tells_the_settings_apart() -> None:
    """The cases above depend on the module's settings: with missing data as breaching (the old alarm's choice), the
    alarm would sit in ALARM from the first apply; without FILL, a failed run alone in the window would not fire."""
    alarm = read_alarm()
    assert fires(Alarm(**{**alarm.__dict__, "treat_missing_data": "breaching"}), NEVER_INVOKED)
    unfilled = Alarm(**{**alarm.__dict__, "expression": "invocations - errors"})
    assert not fires(unfilled, runs(-30, failed=(-6,)))
    assert fires(alarm, runs(-30, failed=(-6,)))
