"""pytest hooks: options, markers, start-up checks, collection, machine info, and the summary."""
from __future__ import annotations

from pathlib import Path

import pytest

from . import fixtures
from .options import add_options, parse_options

WORKLOADS_DIR = Path(__file__).resolve().parent.parent / "workloads"

MARKERS = {
    "training": "a training workload: trains to a target accuracy and records time to target",
    "inference": "an inference workload: times inference over the test set with a trained model",
    "image": "an image-classification workload (MNIST)",
    "speech": "a speech-recognition workload (Google Speech Commands v2)",
    "stdp": "trained by spike-timing-dependent plasticity (BindsNET)",
    "backprop": "trained by surrogate-gradient backpropagation",
    "conversion": "an ANN converted to an SNN",
    "lif": "built of leaky integrate-and-fire neurons",
    "lsnn": "built of LSNN neurons (adaptive threshold)",
    "lstm": "the non-spiking LSTM baseline (not one of the nine workloads)",
}
WORKLOAD_MARKERS = ("training", "inference")

_STATE_KEY = pytest.StashKey["object"]()
_OPTIONS_KEY = pytest.StashKey["object"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    options = parse_options(config)  # raises UsageError before anything runs
    config.stash[_OPTIONS_KEY] = options
    config.pluginmanager.register(fixtures, "snnbench-fixtures")
    if not options.enabled:
        return
    from .determinism import prepare_environment
    from .threads import apply_thread_settings

    prepare_environment()
    # As early as pytest lets a plugin run: the inter-op pool is fixed once parallel work starts.
    config.stash[_STATE_KEY] = _new_state(options, apply_thread_settings(options.intra_op_threads,
                                                                         options.inter_op_threads))
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = [str(WORKLOADS_DIR)]  # plain `pytest --snnbench` runs the bundled workloads


def _new_state(options, threads):
    import torch

    from .models import ModelStore
    from .runner import SessionState
    from .workload import WorkloadContext

    context = WorkloadContext(device=torch.device(options.device), scale=options.scale, seed=options.seed,
                              data_dir=options.data_dir, cache_dir=options.cache_dir,
                              allow_download=options.allow_download, speech_task=options.speech_task,
                              speech_epochs=options.speech_epochs)
    return SessionState(options=options, threads=threads, context=context, models=ModelStore(options.cache_dir))


def session_state(config: pytest.Config):
    """The session's shared state; built on first use when the workloads run without --snnbench."""
    if _STATE_KEY not in config.stash:
        from .threads import current_thread_settings

        config.stash[_STATE_KEY] = _new_state(config.stash[_OPTIONS_KEY], current_thread_settings())
    return config.stash[_STATE_KEY]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[_OPTIONS_KEY].enabled:
        return
    skip = pytest.mark.skip(reason="SNNBench workloads run only with --snnbench")
    for item in items:
        if any(item.get_closest_marker(name) for name in WORKLOAD_MARKERS):
            item.add_marker(skip)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Versions, threads and devices, so that --benchmark-compare warns across different set-ups."""
    if config.stash[_OPTIONS_KEY].enabled:
        from .record import machine_facts

        machine_info["snnbench"] = machine_facts()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE_KEY, None)
    if state is None or not (state.results or state.extra_summary):
        return
    from .summary import summary_lines

    terminalreporter.section("SNNBench summary")
    options = state.options
    terminalreporter.write_line(f"device {options.device}, scale {options.scale}, seed {options.seed}, "
                                f"threads intra-op {state.threads.intra_op} / inter-op {state.threads.inter_op}")
    for line in summary_lines(state.results):
        terminalreporter.write_line(line)
    for line in state.extra_summary:
        terminalreporter.write_line(line)
