"""The accuracy curve of a training run: one point per evaluation."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class CurvePoint:
    epoch: int
    samples: int  # training samples seen when the evaluation ran
    seconds: float  # since the start of training, evaluations included (MLPerf's time to accuracy)
    accuracy: float  # accuracy in [0, 1] on ``split``
    loss: float | None  # mean training loss since the previous point; None for unsupervised rules
    split: str = "validation"  # where the check ran: targets and stops are decided there, never on test
    evaluated: int | None = None  # samples the accuracy was counted on (its interval needs it), if known


@dataclass
class AccuracyCurve:
    target: float
    points: list[CurvePoint] = field(default_factory=list)

    def add(self, point: CurvePoint) -> None:
        if self.points and point.samples < self.points[-1].samples:
            raise ValueError("curve points must be added in training order")
        self.points.append(point)

    @property
    def first_reaching(self) -> CurvePoint | None:
        """The first evaluation at or above the target: where time to accuracy is read."""
        return next((p for p in self.points if p.accuracy >= self.target), None)

    @property
    def reached(self) -> bool:
        return self.first_reaching is not None

    @property
    def best_accuracy(self) -> float | None:
        return max((p.accuracy for p in self.points), default=None)

    @property
    def final_accuracy(self) -> float | None:
        return self.points[-1].accuracy if self.points else None

    def as_records(self) -> list[dict[str, object]]:
        return [asdict(p) for p in self.points]

    def accuracies(self) -> list[float]:
        return [p.accuracy for p in self.points]

    def format(self) -> str:
        """A small table for failure messages."""
        lines = [f"  {'epoch':>5} {'samples':>9} {'seconds':>9} {'accuracy':>9} {'loss':>9}"]
        for p in self.points:
            loss = "-" if p.loss is None else f"{p.loss:.4f}"
            mark = "  <- target" if p is self.first_reaching else ""
            lines.append(f"  {p.epoch:>5} {p.samples:>9} {p.seconds:>9.2f} {p.accuracy:>8.2%} {loss:>9}{mark}")
        if not self.points:
            lines.append("  (no evaluation ran)")
        return "\n".join(lines)
