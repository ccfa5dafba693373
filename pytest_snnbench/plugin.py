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
_GROUP_KEY = pytest.StashKey["object"]()
_parser_group = None  # the plugin's option group, to forward options to child processes


def pytest_addoption(parser: pytest.Parser) -> None:
    global _parser_group
    add_options(parser)
    _parser_group = parser.getgroup("snnbench")


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    options = parse_options(config)  # raises UsageError before anything runs
    config.stash[_OPTIONS_KEY] = options
    config.stash[_GROUP_KEY] = _parser_group
    config.pluginmanager.register(fixtures, "snnbench-fixtures")
    if not options.enabled:
        return
    from .determinism import prepare_environment
    from .threads import apply_thread_settings

    prepare_environment()
    # As early as pytest lets a plugin run: the inter-op pool is fixed once parallel work starts.
    threads, problem = apply_thread_settings(options.intra_op_threads, options.inter_op_threads)
    if problem:
        config.issue_config_time_warning(pytest.PytestConfigWarning(problem), stacklevel=2)
    config.stash[_STATE_KEY] = _new_state(options, threads)
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


def _is_workload(item_or_definition) -> bool:
    return any(item_or_definition.get_closest_marker(name) for name in WORKLOAD_MARKERS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One run per sweep value, seed and repeat: each recorded on its own."""
    options = metafunc.config.stash[_OPTIONS_KEY]
    if not options.enabled or "snnbench_run" not in metafunc.fixturenames or not _is_workload(metafunc.definition):
        return
    from .variants import all_variants, is_swept

    if is_swept(options):
        variants = all_variants(options)
        metafunc.parametrize("snnbench_run", variants, ids=[v.label for v in variants])


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Variants that need a fresh process run there; this process collects their records."""
    callspec = getattr(pyfuncitem, "callspec", None)
    variant = callspec.params.get("snnbench_run") if callspec else None
    if variant is None or not variant.in_child:
        return None
    from .variants import adopt, forwarded_arguments, run_in_child

    config = pyfuncitem.config
    state = session_state(config)
    child = run_in_child(pyfuncitem, variant, forwarded_arguments(config, config.stash[_GROUP_KEY]))
    if child.benchmark is not None:
        record = adopt(pyfuncitem.funcargs["benchmark"], child.benchmark, variant)
        state.add_result(pyfuncitem, variant, record, note="own process")
    if child.returncode != 0:
        pytest.fail(f"[{variant.label}] run in its own process failed:\n{child.failure_text()}", pytrace=False)
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[_OPTIONS_KEY].enabled:
        return
    skip = pytest.mark.skip(reason="SNNBench workloads run only with --snnbench")
    for item in items:
        if _is_workload(item):
            item.add_marker(skip)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Versions, threads and devices, so that --benchmark-compare warns across different set-ups."""
    if config.stash[_OPTIONS_KEY].enabled:
        from .record import machine_facts

        machine_info["snnbench"] = machine_facts()


def pytest_benchmark_update_json(config: pytest.Config, benchmarks, output_json: dict) -> None:
    """Save the session's analyses (metric gate, repeatability) with the benchmarks."""
    state = config.stash.get(_STATE_KEY, None)
    if state is None:
        return
    if state.analysis:
        output_json["snnbench"] = state.analysis


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int):
    """Before pytest-benchmark saves its JSON: gate the metrics, check repeatability, write the report."""
    config = session.config
    state = config.stash.get(_STATE_KEY, None)
    if state is not None and state.records:
        from .analysis import analyse

        if not analyse(state, config):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if state.options.report_dir:
            from .report import session_run, write_report

            paths = write_report([session_run(config, state)], state.options.report_dir)
            state.extra_summary.append(f"report written: {paths['html']}")
    yield


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
