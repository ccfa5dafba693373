"""snnbench-report RUN.json [OTHER.json ...] -o DIR: figures and an HTML page from stored runs;
with --paper, the paper's claims beside ours (report/paper.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import write_report
from .load import ReportInputError, load_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="snnbench-report",
        description="Write PNG figures and a self-contained report.html from stored pytest-snnbench runs "
                    "(files written by --benchmark-json or --benchmark-autosave). With two or more runs, the "
                    "first and the last are compared side by side.")
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN.json")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="folder to write into")
    parser.add_argument("--paper", action="store_true",
                        help="also write paper.md and paper.html: every claim of the SNNBench paper, one row each, "
                             "with its figure, ours from these runs, and whether it agrees (a later run given "
                             "overrides an earlier one's record of the same workload)")
    args = parser.parse_args(argv)
    try:
        runs = [load_run(path) for path in args.runs]
    except ReportInputError as error:
        print(f"snnbench-report: {error}", file=sys.stderr)
        return 2
    written = write_report(runs, args.output)
    if args.paper:
        from .paper import write_paper_report

        written.update(write_paper_report(runs, args.output))
    for path in written.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
