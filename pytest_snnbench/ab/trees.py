"""Each git ref of an A/B comparison, checked out and installed on its own, in one work folder.

A ref is checked out as a detached git worktree (``trees/<sha>``) and its package installed, without
dependencies, into its own folder (``code/<sha>``), which goes first on ``PYTHONPATH`` of that side's
runs: the two sides import their own pytest_snnbench, bundled workloads included, through their own
``pytest11`` entry point. The dependencies come from one environment per lock file
(``envs/<hash of requirements.lock>``): the interpreter running snnbench-ab is reused when its
checkout's lock file is the ref's, so two refs with the same pins share every package.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "requirements.lock"


class ABSetupError(RuntimeError):
    """A ref that cannot be checked out or installed; the message says why and what to do."""


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise ABSetupError("git is not installed: snnbench-ab checks out each ref with git worktree.") from None
    except subprocess.CalledProcessError as error:
        raise ABSetupError(f"git {' '.join(args)} failed: {error.stderr.strip() or error}") from None
    return done.stdout.strip()


def repository_root(start: Path) -> Path:
    return Path(_git(start, "rev-parse", "--show-toplevel"))


def resolve(repo: Path, ref: str) -> str:
    """The commit a ref names (a branch, tag, HEAD~1, a sha); a clear error for one that does not exist."""
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except ABSetupError:
        raise ABSetupError(f"{ref!r} is not a commit of {repo} (a shallow clone may lack it: "
                           "fetch with --depth=2 or more, or fetch the base branch).") from None


def lock_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Side:
    """One ref, ready to run: where its tree is, what goes on PYTHONPATH, which interpreter runs it."""

    ref: str
    commit: str
    tree: Path
    code: Path
    python: Path


def checkout(repo: Path, work: Path, ref: str) -> tuple[str, Path]:
    commit = resolve(repo, ref)
    tree = work / "trees" / commit
    if not (tree / ".git").exists():
        tree.parent.mkdir(parents=True, exist_ok=True)
        _git(repo, "worktree", "add", "--force", "--detach", str(tree), commit)
    return commit, tree


def environment(work: Path, tree: Path, running_lock: str | None) -> Path:
    """The interpreter with the ref's pinned packages: this one when the pins are the same, else one
    built once per lock file under ``work/envs`` (minutes, then reused)."""
    lock = tree / LOCK_FILE
    text = lock.read_text() if lock.is_file() else ""
    if running_lock is not None and text == running_lock:
        return Path(sys.executable)
    env = work / "envs" / lock_hash(text)
    python = env / "bin" / "python"
    if not (env / ".complete").is_file():
        print(f"snnbench-ab: building an environment for {tree.name[:10]}'s {LOCK_FILE} in {env} (once) ...",
              flush=True)
        _run([sys.executable, "-m", "venv", "--clear", str(env)], "create the environment")
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "setuptools", "wheel"],
             "install setuptools")
        if text:
            _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(lock)],
                 f"install {LOCK_FILE}")
        (env / ".complete").write_text(text)
    return python


def install_code(work: Path, commit: str, tree: Path, python: Path) -> Path:
    """The ref's package (no dependencies) in its own folder, built once per commit."""
    code = work / "code" / commit
    if not (code / ".complete").is_file():
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
              "--no-build-isolation", "--upgrade", "--target", str(code), str(tree)], f"install {commit[:10]}")
        (code / ".complete").write_text(commit)
    return code


def prepare(repo: Path, work: Path, ref: str) -> Side:
    lock = repo / LOCK_FILE
    running_lock = lock.read_text() if lock.is_file() else None
    commit, tree = checkout(repo, work, ref)
    python = environment(work, tree, running_lock)
    return Side(ref, commit, tree, install_code(work, commit, tree, python), python)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise ABSetupError(f"snnbench-ab could not {what}: {' '.join(command)} exited {done.returncode}:\n"
                           f"{(done.stderr or done.stdout).strip()[-2000:]}")
