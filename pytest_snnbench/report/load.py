"""Read stored pytest-benchmark JSON files: only what the report needs, with clear errors."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ReportInputError(Exception):
    """The input is not a benchmark JSON the report can use; the message says which and why."""


@dataclass
class Run:
    label: str
    benchmarks: list[dict[str, Any]]  # pytest-benchmark entries: name, extra_info, stats
    machine_info: dict[str, Any] = field(default_factory=dict)
    datetime: str | None = None

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        """SNNBench records by test name (entries without one are left out)."""
        return {b["name"]: b["extra_info"] for b in self.benchmarks
                if str(b.get("extra_info", {}).get("schema", "")).startswith("snnbench-record/")}


def load_run(path: Path) -> Run:
    path = Path(path)
    if path.suffix == ".jsonl":
        return _load_results_file(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ReportInputError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportInputError(f"{path}: not JSON ({error}); give a file written by --benchmark-json or "
                               "--benchmark-autosave") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise ReportInputError(f"{path}: not a pytest-benchmark JSON (no 'benchmarks' list); give a file written "
                               "by --benchmark-json or --benchmark-autosave")
    run = Run(path.stem, data["benchmarks"], data.get("machine_info") or {}, data.get("datetime"))
    if not run.records:
        raise ReportInputError(f"{path}: a benchmark JSON without SNNBench records (run pytest --snnbench "
                               "with --benchmark-json)")
    return run


def _load_results_file(path: Path) -> Run:
    """The latest session of a results file (``--snnbench-results``), as a run."""
    from ..results import read_results

    try:
        entries = read_results(path)
    except FileNotFoundError:
        raise ReportInputError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise ReportInputError(f"{path}: not a results file ({error})") from None
    if not entries:
        raise ReportInputError(f"{path}: a results file without records (written by pytest --snnbench, "
                               "--snnbench-results)")
    session = entries[-1]["session"]
    benchmarks = [{"name": entry["test"].rsplit("::", 1)[-1], "extra_info": entry["record"]}
                  for entry in entries if entry["session"] == session]
    return Run(f"{path.stem}-{session}", benchmarks)
