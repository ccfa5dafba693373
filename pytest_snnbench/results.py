"""The results file: every finished workload's record, written at once and atomically.

pytest-benchmark writes its JSON when the session ends; a session killed at its seventh workload
would lose the six records before. Here each record is added to a JSON Lines file as soon as its
workload finishes (the whole file is rewritten to a temporary file, flushed to disk and renamed
over the old one, so a kill at any moment leaves the previous or the new file, never half of one).
Each line holds the session it came from, the test and the record; ``snnbench-report`` reads it.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from .atomic import write_atomically

SCHEMA = "snnbench-results/1"


class ResultsFileError(Exception):
    """The results file cannot be written; the message names the path and what to do."""


def session_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"


def check_writable(path: Path) -> None:
    """Fail early, before hours of training, if the results file cannot be written."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".snnbench-write-check-"):
            pass
    except OSError as error:
        raise ResultsFileError(f"the results file {path} cannot be written ({error.strerror or error}); "
                               "give a writable place with --snnbench-results=PATH") from None


def append_record(path: Path, session: str, test: str, record: dict[str, Any]) -> None:
    """Add one record to the results file, atomically (temporary file, fsync, rename)."""
    line = json.dumps({"schema": SCHEMA, "session": session, "test": test, "record": record}, default=str)
    previous = path.read_bytes() if path.exists() else b""
    if previous and not previous.endswith(b"\n"):
        previous += b"\n"
    write_atomically(path, lambda out: out.write(previous + line.encode() + b"\n"))


def read_results(path: Path) -> list[dict[str, Any]]:
    """The lines of a results file (a torn last line, from a crash of another writer, is skipped)."""
    entries = []
    for text in Path(path).read_text().splitlines():
        try:
            entry = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and entry.get("schema") == SCHEMA:
            entries.append(entry)
    return entries
