"""A pytest plugin for the checkpoint tests: the session sends itself a real signal during training.

Loaded in a child pytest with ``-p tests.interrupt_plugin``. ``SNNBENCH_TEST_SIGNAL=KILL@7`` (or
``INT@7``) sends SIGKILL (or SIGINT, what Ctrl-C sends) to the process itself right after the 7th
training step of the first training run (``KILL@7@speech-lif``: of the first run of that workload)
has changed the model, before the loop has seen the step:
the work of that step is lost with a kill, as it would be on a real crash. A step count makes the
moment deterministic where a timer would make the test flaky.
"""
from __future__ import annotations

import os
import signal

import pytest_snnbench.runner as runner

_train_to_target = runner.train_to_target
_fired = False


def _signalling(workload, device, **kwargs):
    global _fired
    setting = os.environ.get("SNNBENCH_TEST_SIGNAL")
    name, step, workload_name = (setting.split("@") + [""])[:3] if setting else ("", "0", "")
    if setting and not _fired and workload_name in ("", workload.name):
        number, train_step = getattr(signal, f"SIG{name}"), workload.train_step
        steps = 0

        def step_then_signal(batch):
            global _fired
            nonlocal steps
            loss = train_step(batch)
            steps += 1
            if steps == int(step) and not _fired:
                _fired = True
                os.kill(os.getpid(), number)
            return loss

        workload.train_step = step_then_signal
    return _train_to_target(workload, device, **kwargs)


runner.train_to_target = _signalling
