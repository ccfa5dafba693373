"""Repository-level pytest set-up. The plugin itself loads through its ``pytest11`` entry point.

Kept free of ``pytest_plugins``: `pytest --snnbench` run from another folder collects the bundled
workloads below this file, and pytest forbids ``pytest_plugins`` in a conftest that is not top-level.
"""
from hypothesis import settings

# Property tests draw the same examples on every run and in CI.
settings.register_profile("snnbench", derandomize=True, deadline=None, max_examples=200)
settings.load_profile("snnbench")
