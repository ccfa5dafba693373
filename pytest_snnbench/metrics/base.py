"""What a metric is: a name, how to read it from a record, a unit and a direction."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

Record = Mapping[str, Any]

# unit -> (how a value is shown, bound units the gate accepts: pp = percentage points, % = relative,
# s = absolute seconds)
UNITS: dict[str, tuple[Callable[[float, int | None], str], tuple[str, ...]]] = {
    "fraction": (lambda v, d: f"{v:.{2 if d is None else d}%}", ("pp", "%")),
    "s": (lambda v, d: f"{v:.{2 if d is None else d}f} s", ("%", "s")),
    "samples/s": (lambda v, d: f"{v:,.{1 if d is None else d}f}", ("%",)),
    "samples": (lambda v, d: f"{v:,.0f}", ("%",)),
    "s/sample": (lambda v, d: f"{v:.{3 if d is None else d}g} s", ("%",)),
    "J": (lambda v, d: f"{v:,.{1 if d is None else d}f} J", ("%",)),
    "J/sample": (lambda v, d: f"{v:.{3 if d is None else d}g} J", ("%",)),
    "ops/sample": (lambda v, d: f"{v:,.{0 if d is None else d}f}", ("%",)),
    "bytes": (lambda v, d: f"{v:,.0f} B", ("%",)),
    "count": (lambda v, d: f"{v:,.0f}", ("%",)),
}


KINDS = ("exact", "speed-free", "time")


@dataclass(frozen=True)
class Metric:
    """One metric.

    ``fields``: record keys tried in order (the first that is not None is the value); or ``read``:
    a function of the record returning the value or None. ``better``: ``higher`` or ``lower``.
    ``phases``: the record phases (``training``, ``inference``) the metric applies to.
    ``measured``: for metrics a machine may be unable to measure (energy), whether this record
    could measure it at all; a value missing for that reason is not a regression.
    ``kind``: how it depends on the machine. ``exact``: not at all (a model's shape: footprint,
    parameters), so any change is the code's. ``speed-free``: not on the machine's speed, but on float
    rounding (another CPU or thread count moves the accuracy curve and what follows from it), so a
    change counts beyond the spread measured over seeds and thread counts. ``time``: on the machine's
    speed, so it is compared only with a base measured on the same runner (``snnbench-ab``).
    ``shown_in``: the tables that show it, ``report`` (the HTML report's run table and comparison)
    and ``summary`` (the end-of-session table); a metric with ``measured`` gets a column only where
    some record has a value.
    """

    name: str
    unit: str
    better: str
    phases: tuple[str, ...]
    label: str
    fields: tuple[str, ...] = ()
    read: Callable[[Record], float | None] | None = None
    measured: Callable[[Record], bool] | None = None
    short: str | None = None  # a narrower table header; the label if None
    shown_in: tuple[str, ...] = ()
    description: str = ""
    kind: str = "time"

    def __post_init__(self) -> None:
        if self.better not in ("higher", "lower"):
            raise ValueError(f"{self.name}: better must be 'higher' or 'lower', not {self.better!r}")
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.unit not in UNITS:
            raise ValueError(f"{self.name}: unknown unit {self.unit!r}; add it to UNITS")
        if bool(self.fields) == (self.read is not None):
            raise ValueError(f"{self.name}: give either fields or read")

    @property
    def direction(self) -> int:
        """The sign of a change that is a regression: +1 when a rise is worse, -1 when a fall is."""
        return -1 if self.better == "higher" else +1

    @property
    def gate_units(self) -> tuple[str, ...]:
        return UNITS[self.unit][1]

    @property
    def header(self) -> str:
        return self.short or self.label

    def applies_to(self, record: Record) -> bool:
        phase = record.get("phase")
        return phase is None or phase in self.phases

    def value(self, record: Record) -> float | None:
        if not self.applies_to(record):
            return None
        if self.read is not None:
            found = self.read(record)
            return None if found is None else float(found)
        for field in self.fields:
            if record.get(field) is not None:
                return float(record[field])
        return None

    def measurable(self, record: Record) -> bool:
        """False only where the record says the machine could not measure this metric."""
        return self.measured is None or bool(self.measured(record))

    @property
    def optional(self) -> bool:
        """A metric some machines cannot measure (its column is left out where nothing was measured)."""
        return self.measured is not None

    def format(self, value: float | None, digits: int | None = None) -> str:
        return "-" if value is None else UNITS[self.unit][0](value, digits)


class Registry(Mapping[str, Metric]):
    """Metrics by name, in definition order."""

    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics: dict[str, Metric] = {}
        for metric in metrics:
            if metric.name in self._metrics:
                raise ValueError(f"metric {metric.name!r} defined twice")
            self._metrics[metric.name] = metric

    def __getitem__(self, name: str) -> Metric:
        return self._metrics[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._metrics)

    def __len__(self) -> int:
        return len(self._metrics)

    def of_kind(self, *kinds: str) -> list[Metric]:
        return [m for m in self._metrics.values() if m.kind in kinds]

    def in_table(self, table: str) -> list[Metric]:
        return [m for m in self._metrics.values() if table in m.shown_in]
