"""Options and markers of the speech workloads (loaded at start-up by the core; imports nothing heavy)."""
from __future__ import annotations

import pytest

from .framework_plugin import engine_names, event_engine_needs_the_cpu
from .image_plugin import positive_int

SPEECH_TASKS = ("snnbench", "35", "12")
speech_engines = engine_names
_event_engine_needs_the_cpu = event_engine_needs_the_cpu("snnbench-speech-engine")


def speech_task(text: str) -> str:
    task = str(text).strip().lower()
    if task not in SPEECH_TASKS:
        raise ValueError("unknown task; use snnbench (the paper's: 10 command words, background, unknown), "
                         "35 (all words) or 12 (10 command words, unknown, silence).")
    return task


@pytest.hookimpl
def pytest_snnbench_add_options(options) -> None:
    options.add_marker("speech", "a speech-recognition workload (Google Speech Commands v2)")
    options.add_marker("backprop", "trained by surrogate-gradient backpropagation")
    options.add_marker("lif", "built of leaky integrate-and-fire neurons")
    options.add_marker("lsnn", "built of LSNN neurons (adaptive threshold)")
    options.add_marker("lstm", "the non-spiking LSTM baseline (not one of the nine workloads)")
    options.add("--snnbench-speech-task", default="snnbench", parse=speech_task, metavar="TASK",
                help="Speech workloads' task: snnbench (default; the paper's script: 10 command words, "
                     "background noise and one unknown class for all other words), 35 (all 35 words of "
                     "Speech Commands v0.02, as NeuroBench) or 12 (Warden's: 10 command words, unknown "
                     "and silence, each about 10 %%).")
    options.add("--snnbench-speech-epochs", default=None, parse=positive_int, metavar="N",
                help="Epoch budget of the speech workloads (default: their own); training stops at the "
                     "target or after N epochs, and a missed target fails with the accuracy curve.")
    options.add("--snnbench-speech-engine", default="framework", parse=speech_engines, metavar="ENGINE[,ENGINE]",
                help="Speech-LIF and Speech-LSNN engine: framework (default: the framework's own code, Norse's "
                     "for the paper) or event (Norse's equations as a compiled, spike-driven loop with a hand-"
                     "written backward, proven equal to Norse; CPU only). Both, framework,event, run side by side; "
                     "the LSTM runs with framework only.")
    options.add_check(_event_engine_needs_the_cpu)
