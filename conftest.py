"""Repository-level pytest set-up for the plugin's own tests (the plugin itself loads via its entry point)."""
from hypothesis import settings

pytest_plugins = ["pytester"]

# Deterministic property tests: the same examples on every run and in CI.
settings.register_profile("snnbench", derandomize=True, deadline=None, max_examples=200)
settings.load_profile("snnbench")
