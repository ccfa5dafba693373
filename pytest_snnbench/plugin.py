"""pytest hooks: options, markers, start-up checks, collection, machine info, and the summary.

Loading this module (every pytest run where the plugin is installed) imports no torch and no SNN
library: those load only when --snnbench is given or a workload fixture is used.
"""
from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import pytest

from . import fixtures, hooks
from .options import add_options, parse_options

# The workloads that ship with the plugin: installed as pytest_snnbench.workloads (the repository's
# workloads/ folder), each family with a light plugin module that declares its options and markers.
BUNDLED_PACKAGE = "pytest_snnbench.workloads"
BUNDLED_PLUGINS = ("image_plugin", "speech_plugin", "framework_plugin")

MARKERS = {
    "training": "a training workload: trains to a target accuracy and records time to target",
    "inference": "an inference workload: times inference over the test set with a trained model",
}
WORKLOAD_MARKERS = ("training", "inference")

_STATE_KEY = pytest.StashKey["object"]()
_OPTIONS_KEY = pytest.StashKey["object"]()
_GROUP_KEY = pytest.StashKey["object"]()
_WORKLOAD_OPTIONS_KEY = pytest.StashKey["dict"]()
_COMPARED_KEY = pytest.StashKey["list"]()
_MACHINE_KEY = pytest.StashKey["dict"]()  # this session's machine_info, as pytest-benchmark compares it
# Per plugin manager (pytester runs several sessions in one process): the option group and the
# options that workloads declared, both known before pytest_configure.
_registries: "WeakKeyDictionary[Any, tuple[Any, hooks.WorkloadOptions]]" = WeakKeyDictionary()


def bundled_workloads_dir() -> Path:
    """The folder of the bundled workload modules, wherever the package was installed from.

    A wheel puts it at pytest_snnbench/workloads; an editable install maps that name to the
    repository's workloads/ folder; a plain source checkout on sys.path has it beside the package.
    """
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except ImportError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0]).resolve()
    return Path(__file__).resolve().parent.parent / "workloads"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)
    for name in BUNDLED_PLUGINS:
        if not pluginmanager.has_plugin(f"snnbench-{name}"):
            module = importlib.import_module(f"{BUNDLED_PACKAGE}.{name}")
            pluginmanager.register(module, f"snnbench-{name}")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    add_options(parser)
    declared = hooks.WorkloadOptions(parser)
    _registries[pluginmanager] = (parser.getgroup("snnbench"), declared)
    pluginmanager.hook.pytest_snnbench_add_options.call_historic(kwargs={"options": declared})


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config):
    """Under torchrun, a rank other than 0 sends its terminal output to ``CACHE/ranks/rank-N.log``:
    here, before pytest starts capturing, so that pytest's own output follows."""
    namespace = early_config.known_args_namespace
    if getattr(namespace, "snnbench", False):
        from . import launch

        if launch.under_launcher() and launch.rank_from_environment() > 0:
            from .options import cache_dir_path

            launch.send_output_to_log(cache_dir_path(getattr(namespace, "snnbench_cache_dir", None)) / "ranks",
                                      launch.rank_from_environment())
    return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """--snnbench-nproc=N reruns this command on N ranks under torchrun; under torchrun, ranks other
    than 0 write no benchmark JSON or XML report (rank 0 records for all)."""
    informational = ("help", "version", "collectonly", "showfixtures", "markers")
    if not config.getoption("snnbench") or any(getattr(config.option, name, False) for name in informational):
        return None
    from . import launch

    if launch.under_launcher():
        if launch.rank_from_environment() > 0:
            for option in ("benchmark_json", "benchmark_save", "benchmark_autosave", "xmlpath"):
                if hasattr(config.option, option):
                    setattr(config.option, option, None)
        return None
    try:
        nproc = int(str(config.getoption("snnbench_nproc")))
    except ValueError:
        return None  # parse_options says what is wrong
    return launch.launch(nproc, list(config.invocation_params.args)) if nproc > 1 else None


def pytest_configure(config: pytest.Config) -> None:
    group, declared = _registries[config.pluginmanager]
    for name, description in {**MARKERS, **declared.markers}.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    options = parse_options(config)  # raises UsageError before anything runs
    config.stash[_OPTIONS_KEY] = options
    config.stash[_WORKLOAD_OPTIONS_KEY] = declared.parse(config, options)  # the workloads' own, validated
    config.stash[_GROUP_KEY] = group
    config.pluginmanager.register(fixtures, "snnbench-fixtures")
    if not options.enabled:
        return
    from .determinism import prepare_environment
    from .results import ResultsFileError, check_writable
    from .threads import apply_thread_settings

    try:
        check_writable(options.results_path)  # before hours of training, not after
    except ResultsFileError as error:
        raise pytest.UsageError(str(error)) from None
    prepare_environment()
    world = _join_ranks(config, options)
    # As early as pytest lets a plugin run: the inter-op pool is fixed once parallel work starts.
    threads, problem = apply_thread_settings(options.intra_op_threads, options.inter_op_threads)
    if problem:
        config.issue_config_time_warning(pytest.PytestConfigWarning(problem), stacklevel=2)
    config.stash[_STATE_KEY] = _new_state(config, threads)
    if world is not None:
        config.stash[_STATE_KEY].world = world
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = [str(bundled_workloads_dir())]  # plain `pytest --snnbench` runs the bundled workloads


def _join_ranks(config: pytest.Config, options):
    """Under torchrun with more than one rank: join the process group and place this rank on its
    device; ranks other than 0 keep no results file and write no report (rank 0 records for all)."""
    from .launch import under_launcher

    if not under_launcher():
        return None
    from .distributed import DistributedFailure, environment_world_size, start

    if environment_world_size() < 2:
        return None
    if options.runs_in_child_processes:
        raise pytest.UsageError("sweeps of --device or --inter-op-threads run each value in a process of its own; "
                                "under torchrun give one value.")
    try:
        world, device = start(options.dist_backend, options.device, options.dist_timeout, options.global_batch)
    except DistributedFailure as error:
        raise pytest.UsageError(str(error)) from None
    changes = {"device": device}
    if world.rank > 0:
        changes.update(results_path=None, report_dir=None)
    config.stash[_OPTIONS_KEY] = dataclasses.replace(options, **changes)
    return world


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE_KEY, None)
    if state is not None and state.world.distributed:
        from .distributed import stop

        stop(state.world)


def _new_state(config: pytest.Config, threads):
    import torch

    from .models import ModelStore
    from .runner import SessionState
    from .workload import WorkloadContext

    options = config.stash[_OPTIONS_KEY]
    context = WorkloadContext(device=torch.device(options.device), scale=options.scale, seed=options.seed,
                              data_dir=options.data_dir, cache_dir=options.cache_dir,
                              allow_download=options.allow_download,
                              options=dict(config.stash[_WORKLOAD_OPTIONS_KEY]))
    return SessionState(options=options, threads=threads, context=context, models=ModelStore(options.cache_dir))


def session_state(config: pytest.Config):
    """The session's shared state; built on first use when the workloads run without --snnbench."""
    if _STATE_KEY not in config.stash:
        from .threads import current_thread_settings

        config.stash[_STATE_KEY] = _new_state(config, current_thread_settings())
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
        metafunc.parametrize("snnbench_run", [variant.as_param() for variant in all_variants(options)])


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Variants that need a fresh process run there; this process collects their records.

    The child writes its own benchmark JSON. This test's benchmark fixture times the child through
    its public pedantic API, with the child's clock (variants.ChildClock, given to pytest-benchmark
    as the benchmark marker's timer), so that pytest-benchmark shows, stores and compares the
    child's own measurement; the child's record goes into the fixture's extra_info.
    """
    callspec = getattr(pyfuncitem, "callspec", None)
    variant = callspec.params.get("snnbench_run") if callspec else None
    if variant is None or not variant.in_child:
        return None
    from .variants import ChildClock, forwarded_arguments, run_in_child

    config = pyfuncitem.config
    state = session_state(config)
    benchmark = pyfuncitem.funcargs["benchmark"]
    marker = pyfuncitem.get_closest_marker("benchmark")
    clock = marker.kwargs.get("timer") if marker else None
    forwarded = forwarded_arguments(config, config.stash[_GROUP_KEY])

    def run_child():
        return run_in_child(pyfuncitem, variant, forwarded, clock if isinstance(clock, ChildClock) else None)

    child = benchmark.pedantic(run_child, rounds=1, iterations=1, warmup_rounds=0)
    if child.benchmark is not None:
        record = dict(child.benchmark.get("extra_info", {}), variant=variant.label, process="own process")
        benchmark.extra_info.update(record)
        state.add_result(pyfuncitem, variant, record, note="own process")
    if child.returncode != 0:
        pytest.fail(f"[{variant.label}] run in its own process failed:\n{child.failure_text()}", pytrace=False)
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    options = config.stash[_OPTIONS_KEY]
    if options.enabled:
        if options.checkpoint_every:
            from .variants import SegmentClock

            # A resumed run's time is the sum of its timed segments: this clock lets the runner hand
            # that sum to pytest-benchmark (its documented ``timer``), as child-process runs do.
            for item in items:
                if item.get_closest_marker("training") and not item.get_closest_marker("benchmark"):
                    item.add_marker(pytest.mark.benchmark(timer=SegmentClock()))
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


def pytest_benchmark_compare_machine_info(config: pytest.Config, machine_info: dict, compared_benchmark: dict) -> None:
    """pytest-benchmark passes every run that --benchmark-compare loaded, with this machine's info:
    both kept for the metric gate."""
    config.stash.setdefault(_COMPARED_KEY, []).append(compared_benchmark)
    config.stash[_MACHINE_KEY] = machine_info


def pytest_sessionstart(session: pytest.Session) -> None:
    """--benchmark-compare that loaded nothing: say so and how to fix it, before anything runs
    (pytest-benchmark only warns, and fails at the end with "requires valid --benchmark-compare")."""
    config = session.config
    options = config.stash.get(_OPTIONS_KEY, None)
    compare = config.getoption("benchmark_compare", None)
    if options is None or not options.enabled or not compare or compared_runs(config):
        return
    storage = getattr(getattr(config, "_benchmarksession", None), "storage", None)
    which = "no saved run" if compare is True else f"no saved run matching {compare!r}"
    raise pytest.UsageError(
        f"--benchmark-compare: {which} in {storage or 'the benchmark storage'}. Save one first on this "
        "machine (--benchmark-autosave or --benchmark-save=NAME), point --benchmark-storage at the folder "
        "that holds it, or compare with a file: --snnbench-baseline=PATH. Times are comparable only with "
        "a run of the same machine; to compare two commits on one runner use snnbench-ab.")


def compared_runs(config: pytest.Config) -> list[dict]:
    """The stored runs that --benchmark-compare loaded (pytest-benchmark's JSON, as saved)."""
    return config.stash.get(_COMPARED_KEY, [])


def this_machine(config: pytest.Config) -> dict | None:
    """This session's machine_info, once --benchmark-compare has loaded a run (None before)."""
    return config.stash.get(_MACHINE_KEY, None)


def workload_options(config: pytest.Config) -> dict:
    """The values of the options that workloads declared (pytest_snnbench_add_options), parsed."""
    return config.stash.get(_WORKLOAD_OPTIONS_KEY, {})


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
