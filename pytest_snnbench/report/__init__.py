"""The visual report: figures and an HTML page from stored benchmark JSON (or the live session)."""
from .build import write_report
from .load import ReportInputError, Run, load_run
from .session import session_run

__all__ = ["ReportInputError", "Run", "load_run", "session_run", "write_report"]
