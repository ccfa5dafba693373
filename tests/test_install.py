"""The built wheel in someone else's environment: pip leaves their pytest and torch alone.

A fresh virtual environment gets pytest-benchmark's and pytest's lowest allowed releases (5.1.0 and
8.1.2, not the lock's 5.3.1 and 9.2.0) from the package index and sees the rest of this project's
environment (torch and the SNN libraries) through a .pth file, instead of downloading gigabytes
again. pip's resolver report for installing the wheel must then plan nothing but the plugin, and
``pytest --snnbench --collect-only`` must collect the bundled workloads from the installed wheel, and
a whole (tiny) benchmark session must run and save its JSON on those lowest releases.
Skipped, with the reason, only when the package index is out of reach; a wheel that does not build
(a broken setup.cfg, say) fails, with the build's output.
"""
from __future__ import annotations

import json
import shutil
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
OTHER_PYTEST, OTHER_BENCHMARK = "8.1.2", "5.1.0"  # the lowest releases that setup.cfg allows
EXAMPLE = REPO / "docs" / "example_workload"
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "pytest_snnbench", "workloads")


def _run(command: list[str], cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    # Someone else's environment: without the PYTHONPATH that the other tests' child sessions use
    # (through it pip would find this checkout's own pytest-snnbench metadata and install nothing).
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env)


def _unreachable(completed: subprocess.CompletedProcess) -> bool:
    text = completed.stdout + completed.stderr
    return any(sign in text for sign in ("NewConnectionError", "Network is unreachable", "Temporary failure in name",
                                         "No matching distribution", "ConnectTimeout", "Could not fetch URL"))


def _copy_sources(source: Path) -> None:
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, source / name)


def _build_wheel(source: Path, out: Path) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out),
                 str(source)])


def build_verdict(built: subprocess.CompletedProcess) -> tuple[str, str]:
    """("ok", ""), ("skip", reason) or ("fail", the build's output) for a wheel build.

    Only an unreachable package index is the environment's fault; any other failed build is a defect
    of the package (setup.cfg, pyproject.toml, a missing file) and must fail the test, not hide as a skip.
    """
    if built.returncode == 0:
        return "ok", ""
    output = (built.stdout.strip()[-3000:] + "\n" + built.stderr.strip()[-3000:]).strip()
    if _unreachable(built):
        return "skip", f"the package index is out of reach: {output[-300:]}"
    return "fail", f"the wheel does not build (exit status {built.returncode}):\n{output}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (the build leaves the checkout untouched)."""
    source = tmp_path_factory.mktemp("source")
    _copy_sources(source)
    out = tmp_path_factory.mktemp("wheel")
    verdict, message = build_verdict(_build_wheel(source, out))
    if verdict == "skip":
        pytest.skip(message)
    if verdict == "fail":
        pytest.fail(message, pytrace=False)
    return next(out.glob("pytest_snnbench-*.whl"))


def test_a_broken_setup_cfg_fails_the_wheel_fixture_instead_of_skipping(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    _copy_sources(source)
    config = source / "setup.cfg"
    config.write_text(config.read_text().replace("[options]\n", "[options\n", 1))  # a section header broken
    verdict, message = build_verdict(_build_wheel(source, tmp_path / "out"))
    assert verdict == "fail", message
    assert "ParsingError" in message and "setup.cfg" in message  # the build's own error, shown to the reader
    unreachable = subprocess.CompletedProcess([], 1, "", "ERROR: Could not fetch URL https://pypi.org/simple/x/")
    assert build_verdict(unreachable)[0] == "skip"
    assert build_verdict(subprocess.CompletedProcess([], 0, "", "")) == ("ok", "")


def test_wheel_holds_every_module_and_no_top_level_workloads_package(wheel: Path) -> None:
    """setup.cfg lists the packages (workloads/ is mapped to pytest_snnbench.workloads): a new
    subpackage (a workload's folder) that is not listed there would be missing from the wheel."""
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"pytest_snnbench/{path.relative_to(REPO / 'pytest_snnbench').as_posix()}"
                for path in (REPO / "pytest_snnbench").rglob("*.py")}
    # Every workload folder's modules and its reference distributions (package data).
    expected |= {f"pytest_snnbench/workloads/{path.relative_to(REPO / 'workloads').as_posix()}"
                 for pattern in ("*.py", "reference_convergence.json") for path in (REPO / "workloads").rglob(pattern)}
    assert sorted(expected - names) == [], "add these packages (or their package data) to setup.cfg"
    assert {name.split("/")[0] for name in names if not name.startswith("pytest_snnbench-")} == {"pytest_snnbench"}


def test_wheel_installs_next_to_another_pytest_and_leaves_it_alone(wheel: Path, tmp_path: Path) -> None:
    env = tmp_path / "env"
    # Without pip and setuptools of its own: this project's (seen through the .pth file below) serve,
    # and the old setuptools that ensurepip bundles does not shadow the project's.
    created = _run([sys.executable, "-m", "venv", "--without-pip", str(env)])
    if created.returncode != 0:
        pytest.skip(f"cannot create a virtual environment here: {created.stderr.strip()[-300:]}")
    python = env / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # This project's packages (torch, BindsNET, ...) after the new environment's own: its pytest wins.
    (site / "zz_project_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    installed = _run([*pip, "install", "--quiet", f"pytest=={OTHER_PYTEST}", f"pytest-benchmark=={OTHER_BENCHMARK}"])
    if installed.returncode != 0 and _unreachable(installed):
        pytest.skip(f"the package index is out of reach: {installed.stderr.strip()[-300:]}")
    assert installed.returncode == 0, installed.stderr

    report_path = tmp_path / "report.json"
    planned = _run([*pip, "install", "--dry-run", "--quiet", "--report", str(report_path), str(wheel)])
    assert planned.returncode == 0, planned.stderr
    plan = sorted(entry["metadata"]["name"] for entry in json.loads(report_path.read_text())["install"])
    assert plan == ["pytest-snnbench"], f"pip would also install or change: {plan}"

    done = _run([*pip, "install", "--quiet", "--no-deps", str(wheel)])
    assert done.returncode == 0, done.stderr
    versions = _run([str(python), "-c", "import pytest, pytest_benchmark, torch; "
                                        "print(pytest.__version__, pytest_benchmark.__version__, torch.__version__)"])
    assert versions.stdout.split()[:2] == [OTHER_PYTEST, OTHER_BENCHMARK], versions.stderr

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    collected = _run([str(python), "-m", "pytest", "--snnbench", "--collect-only", "-q", "-p", "no:cacheprovider"],
                     cwd=empty)
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]
    lines = [line for line in collected.stdout.splitlines() if "::test_" in line]
    assert any("test_image_backprop_training" in line for line in lines)
    assert any("test_image_stdp_training[100]" in line for line in lines)
    assert any("test_speech_lif_inference" in line for line in lines)
    # Collected from the installed wheel, not from this checkout.
    where = _run([str(python), "-c", "from pytest_snnbench.plugin import bundled_workloads_dir as d; print(d())"],
                 cwd=empty)
    assert Path(where.stdout.strip()).is_relative_to(env), where.stdout + where.stderr

    # A whole benchmark session (docs/example_workload: training, inference, its own option) on these
    # lowest pytest and pytest-benchmark releases, saved and read back.
    for name in ("conftest.py", "test_blobs.py"):
        shutil.copy2(EXAMPLE / name, empty / name)
    session = _run([str(python), "-m", "pytest", "--snnbench", "test_blobs.py", "--blobs-hidden=8", "-p",
                    "no:cacheprovider", f"--snnbench-cache-dir={tmp_path / 'cache'}", "--benchmark-json=out.json"],
                   cwd=empty)
    assert session.returncode == 0, session.stdout[-3000:] + session.stderr[-2000:]
    saved = json.loads((empty / "out.json").read_text())
    assert sorted(bench["name"] for bench in saved["benchmarks"]) == ["test_blobs_inference", "test_blobs_training"]
    assert saved["version"] == OTHER_BENCHMARK
