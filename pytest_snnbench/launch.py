"""Starting ranks and keeping their output apart, without importing torch.

``--snnbench-nproc=N`` reruns the same pytest command under ``torchrun --standalone
--nproc-per-node=N``; every rank then runs the session, and ranks other than 0 write their
terminal output to a log file of their own (so the user reads one summary), except for a lost-rank
message, which every rank prints where the user sees it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_user_stderr: int | None = None  # a rank's own stderr, kept before its output goes to the log


def rank_from_environment() -> int:
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def under_launcher() -> bool:
    """True inside a rank that torchrun (or a launcher like it) started."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def without_nproc(args: list[str]) -> list[str]:
    """The command's arguments without --snnbench-nproc (the launched ranks must not launch again)."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--snnbench-nproc":
            skip = True
        elif not arg.startswith("--snnbench-nproc="):
            kept.append(arg)
    return kept


def launch(nproc: int, args: list[str]) -> int:
    """Run ``pytest ARGS`` on ``nproc`` local ranks under torchrun; its exit status."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "pytest", *without_nproc(args)]
    environment = dict(os.environ)
    environment.setdefault("OMP_NUM_THREADS", "1")  # torchrun's own default; --intra-op-threads overrides it
    try:
        return subprocess.call(command, env=environment)
    except KeyboardInterrupt:
        return 2


def send_output_to_log(folder: Path, rank: int) -> Path:
    """Point this process's stdout and stderr at ``folder/rank-N.log`` (file descriptors, so that
    pytest's terminal writer and any library's prints go there too)."""
    global _user_stderr
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"rank-{rank}.log"
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    _user_stderr = os.dup(2)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return path


def tell_user(message: str) -> None:
    """Print a message where the user sees it, also from a rank whose output goes to its log."""
    line = f"\n[snnbench rank {rank_from_environment()}] {message}\n".encode()
    os.write(_user_stderr if _user_stderr is not None else 2, line)
