"""The report of the session that just ran, built from memory (no JSON file needed)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from .load import Run


def session_run(config: pytest.Config, state) -> Run:
    entries = [{"name": name, "extra_info": record} for name, record in state.records.items()]
    return Run("this session", entries, {}, datetime.now(timezone.utc).isoformat(timespec="seconds"))
