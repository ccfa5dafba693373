"""Declares the example workload's option and marker (pytest reads this file before it parses the
command line). In a package, put this hook in a module registered under the ``pytest11`` entry point."""
import pytest


def hidden_width(text):
    value = int(text)  # a ValueError becomes a usage error that names the option
    if value < 1:
        raise ValueError("must be at least 1")
    return value


@pytest.hookimpl(optionalhook=True)  # harmless where pytest-snnbench is not installed
def pytest_snnbench_add_options(options):
    options.add("--blobs-hidden", default="32", parse=hidden_width, metavar="N",
                help="Hidden width of the blobs example workload (default: 32).")
    options.add_marker("blobs", "the blobs example workload")
