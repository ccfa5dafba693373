"""Test-only configurations: each bundled workload's smoke scale, resized for the generated data.

The user-facing smoke scale runs on the real MNIST and Speech Commands (tens of thousands of
samples, README); the test suite's data sets are tiny (tests/mnist_files.py: 600 training and 200
test images; tests/wav_files.py: a few dozen clips of tones), so its sessions swap in these
configurations instead. Imported by tests/conftest.py (for workloads built directly in a test) and
loaded with ``-p tests.tiny_configs`` by every child pytest that runs workloads (``snnbench_args``):
pytest may import a collected workload file under another module name than
``pytest_snnbench.workloads.*`` (e.g. ``workloads.speech.test_speech``), so the collected modules are
resized too, by their file name.
"""
from __future__ import annotations

from dataclasses import replace
from types import ModuleType
from typing import Callable

import pytest

from pytest_snnbench.data.speech_commands import FeatureParameters
from pytest_snnbench.workloads.image_backprop import test_image_backprop as backprop
from pytest_snnbench.workloads.image_conversion import test_image_conversion as conversion
from pytest_snnbench.workloads.image_stdp import test_image_stdp as stdp
from pytest_snnbench.workloads.speech import test_speech as speech

# The user-facing smoke configurations, kept for tests that check them.
REAL_SMOKE = {"backprop": backprop.CONFIGS["smoke"], "conversion": conversion.CONFIGS["smoke"],
              "stdp": stdp.SMOKE, "speech": speech.CONFIGS["smoke"]}


def _backprop(module: ModuleType) -> None:
    # 100 of the 600 generated training images validate; the other 500 train.
    module.CONFIGS["smoke"] = module.Config(time_steps=5, batch_size=32, validation_size=100, test_samples=200,
                                            eval_batch_size=256, eval_every_samples=None, max_epochs=6,
                                            target_accuracy=0.5)


def _conversion(module: ModuleType) -> None:
    module.CONFIGS["smoke"] = module.Config(hidden=128, batch_size=32, max_epochs=10, dnn_target_accuracy=0.8,
                                            snn_target_accuracy=0.7, time_steps=50, report_every_steps=10,
                                            norm_samples=500, eval_batch_size=200, validation_size=100)


def _stdp(module: ModuleType) -> None:
    module.SMOKE = module.Config(n_neurons=100, time_steps=100, check_every_samples=100, assign_window=300,
                                 validation_size=100, check_samples=None, eval_batch_size=200,
                                 samples_per_epoch=400, max_epochs=1, test_samples=200, target_accuracy=0.75)


def _speech(module: ModuleType) -> None:
    module.CONFIGS["smoke"] = replace(module.CONFIGS["full"], hidden_size=64, batch_size=8, eval_batch_size=64,
                                      learning_rate=2e-2, features=FeatureParameters(n_mels=16, n_fft=512,
                                                                                     hop_length=400),
                                      max_epochs=12, target_accuracy=0.6)


RESIZE: dict[str, Callable[[ModuleType], None]] = {
    "test_image_backprop": _backprop, "test_image_conversion": _conversion, "test_image_stdp": _stdp,
    "test_speech": _speech}

for _module in (backprop, conversion, stdp, speech):
    RESIZE[_module.__name__.rsplit(".", 1)[-1]](_module)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for module in {item.module for item in items if getattr(item, "module", None) is not None}:
        resize = RESIZE.get(module.__name__.rsplit(".", 1)[-1])
        if resize is not None:
            resize(module)
