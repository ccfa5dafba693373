"""Test-only: Image-Backprop's tiny configuration checked after every step (after tests.tiny_configs).

Loaded with ``-p tests.every_step_configs`` so that the accuracy curve holds each step's loss:
the data-parallel tests compare one process and two ranks step by step. The target is out of
reach for some 25 steps on the generated data, so that the curves have that many points.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from tests import tiny_configs


def _every_step(module) -> None:
    tiny_configs.RESIZE["test_image_backprop"](module)
    module.CONFIGS["smoke"] = replace(module.CONFIGS["smoke"], eval_every_samples=32, max_epochs=2,
                                      target_accuracy=0.9)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for module in {item.module for item in items if getattr(item, "module", None) is not None}:
        if module.__name__.rsplit(".", 1)[-1] == "test_image_backprop":
            _every_step(module)
