"""Options and their usage errors: wrong input stops the session at start-up with a clear message."""
from __future__ import annotations

import pytest
import torch



def test_all_markers_are_registered(pytester: pytest.Pytester) -> None:
    """The core's (training, inference) and those the bundled workloads declare through the hook."""
    result = pytester.runpytest("--markers")
    for name in ("training", "inference", "image", "speech", "stdp", "backprop", "conversion", "lif", "lsnn",
                 "lstm"):
        result.stdout.fnmatch_lines([f"@pytest.mark.{name}:*"])


def test_strict_markers_accept_workload_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.training
        @pytest.mark.image
        def test_marked():
            pass
    """)
    result = pytester.runpytest("--strict-markers", "-m", "image")
    result.assert_outcomes(skipped=1)  # a workload marker without --snnbench: skipped, not run


@pytest.mark.parametrize("args, message", [
    (["--device=tpu"], "*--device='tpu' is not a device: use cpu, cuda or cuda:N*"),
    (["--device=cpu:1"], "*the CPU takes no index*"),
    (["--snnbench-scale=huge"], "*--snnbench-scale='huge' is unknown; use one of: smoke, full*"),
    (["--intra-op-threads=two"], "*--intra-op-threads='two' is not a whole number*"),
    (["--inter-op-threads=0"], "*--inter-op-threads=0: every value must be at least 1*"),
    (["--snnbench-seed=-1"], "*--snnbench-seed=-1 must be at least 0*"),
    (["--snnbench-budget=10"], "*--snnbench-budget='10' is unknown; use target*or epochs:N*"),
    (["--snnbench-budget=epochs:0"], "*--snnbench-budget='epochs:0' is unknown*"),
    # Options that the bundled workloads declare through pytest_snnbench_add_options:
    (["--snnbench-stdp-sizes=100,500"], "*--snnbench-stdp-sizes='100,500': give a comma-separated list from*"),
    (["--snnbench-stdp-batch=0"], "*--snnbench-stdp-batch='0': must be at least 1*"),
    (["--snnbench-speech-task=20"], "*--snnbench-speech-task='20': unknown task; use snnbench*"),
    (["--snnbench-speech-epochs=many"], "*--snnbench-speech-epochs='many': not a whole number*"),
])
def test_bad_option_values_are_usage_errors(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    result = pytester.runpytest("--snnbench", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_a_usage_error_at_start_up(pytester: pytest.Pytester, device: str) -> None:
    result = pytester.runpytest("--snnbench", f"--device={device}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--device={device} was asked for, but torch * sees no CUDA device*"])
    assert "Traceback" not in result.stderr.str()


def test_thread_options_are_applied_and_visible_to_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_threads="""
        import torch
        def test_threads(snnbench_threads, snnbench_device):
            assert snnbench_threads.intra_op == 1 == torch.get_num_threads()
            assert str(snnbench_device) == "cpu"
    """)
    result = pytester.runpytest_subprocess("--snnbench", "--intra-op-threads=1", "--inter-op-threads=1",
                                           "test_threads.py", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_workload_check_sees_its_values_and_the_core_options(pytester: pytest.Pytester) -> None:
    """options.add_check: validation across options (here: a workload option against --snnbench-seed)."""
    pytester.makeconftest("""
        import pytest

        def refuse_width_on_seed(values, core):
            if values["toy_width"] > 8 and core.seed == 3:
                raise ValueError("--toy-width above 8 needs another seed than 3")

        @pytest.hookimpl(optionalhook=True)
        def pytest_snnbench_add_options(options):
            options.add("--toy-width", default="4", parse=int, help="toy width")
            options.add_check(refuse_width_on_seed)
    """)
    pytester.makepyfile(test_width="def test_width(snnbench):\n    assert snnbench.option('toy_width') == 9\n")
    refused = pytester.runpytest_subprocess("--snnbench", "--toy-width=9", "--snnbench-seed=3", "test_width.py")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*--toy-width above 8 needs another seed than 3*"])
    accepted = pytester.runpytest_subprocess("--snnbench", "--toy-width=9", "test_width.py", "-p", "no:cacheprovider")
    accepted.assert_outcomes(passed=1)
