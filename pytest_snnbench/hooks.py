"""The hook through which a workload declares its own options and markers.

A workload (bundled or third-party) implements, in a plugin module that pytest loads at start-up
(a ``pytest11`` entry point, ``-p module``, or a ``conftest.py`` that pytest reads before parsing
the command line)::

    def pytest_snnbench_add_options(options):
        options.add("--myload-width", default="64", parse=int, help="Hidden width of my workload.")
        options.add_marker("myload", "my own workload family")

Every declared option joins the plugin's "snnbench" option group (so sweeps forward it to their
child processes), is parsed and validated at start-up like the core options (a ``ValueError`` from
``parse`` becomes a usage error naming the option), and reaches the workload test through
``snnbench.option("myload_width")`` (also ``WorkloadContext.option``). A default that selects (such as
``--snnbench-stdp-sizes=100,400,1600``) is a workload's default selection. A check that needs several
values, or the core's (e.g. the device), goes in ``options.add_check(check)``: ``check(values, core)``
gets the parsed values and the core's ``SnnbenchOptions`` and raises ``ValueError`` to stop the session.

The hook is historic: plugins registered after the core (conftest files) are called as they load.
This module imports nothing heavy; option modules must not either (``pytest`` without ``--snnbench``
never imports torch).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

GROUP = "snnbench"


@pytest.hookspec(historic=True)
def pytest_snnbench_add_options(options: "WorkloadOptions") -> None:
    """Declare a workload's command-line options and markers on ``options``."""


@dataclass(frozen=True)
class DeclaredOption:
    flag: str
    dest: str
    parse: Callable[[Any], Any] | None


class WorkloadOptions:
    """Options and markers declared by workloads; parsed once at start-up (``parse``)."""

    def __init__(self, parser: pytest.Parser) -> None:
        self._parser = parser
        self.options: dict[str, DeclaredOption] = {}
        self.markers: dict[str, str] = {}
        self.checks: list[Callable[[dict[str, Any], Any], None]] = []

    def add(self, flag: str, *, help: str, default: Any = None, parse: Callable[[Any], Any] | None = None,
            metavar: str | None = None, flag_only: bool = False) -> str:
        """Add ``--flag`` (``flag_only``: a switch without a value); returns its name for ``snnbench.option``.

        ``parse`` turns the text into the value workloads see; raise ``ValueError`` with a message
        that says what to give instead. It is applied to the default too.
        """
        if not flag.startswith("--"):
            raise ValueError(f"workload options are long options: {flag!r} should start with '--'")
        dest = flag[2:].replace("-", "_")
        if dest in self.options:
            raise ValueError(f"{flag} is declared twice")
        group = self._parser.getgroup(GROUP)
        if flag_only:
            group.addoption(flag, dest=dest, action="store_true", default=False, help=help)
        else:
            group.addoption(flag, dest=dest, default=default, metavar=metavar, help=help)
        self.options[dest] = DeclaredOption(flag, dest, parse)
        return dest

    def add_marker(self, name: str, description: str) -> None:
        """Register a marker (so that ``--strict-markers`` accepts it and ``--markers`` lists it)."""
        self.markers.setdefault(name, description)

    def add_check(self, check: Callable[[dict[str, Any], Any], None]) -> None:
        """``check(values, core)`` runs at start-up after parsing; a ``ValueError`` is a usage error."""
        self.checks.append(check)

    def parse(self, config: pytest.Config, core: Any = None) -> dict[str, Any]:
        """Every declared option's value; raises ``pytest.UsageError`` for a value its parser rejects
        or that a check refuses (``core``: the core's parsed options, for the checks)."""
        values: dict[str, Any] = {}
        for option in self.options.values():
            raw = config.getoption(option.dest)
            if option.parse is None or raw is None:
                values[option.dest] = raw
                continue
            try:
                values[option.dest] = option.parse(raw)
            except (ValueError, TypeError) as error:
                raise pytest.UsageError(f"{option.flag}={raw!r}: {error}") from None
        for check in self.checks:
            try:
                check(values, core)
            except ValueError as error:
                raise pytest.UsageError(str(error)) from None
        return values
