"""Image-Backprop's configuration: the paper's and the SNNBench script's settings, and the smoke scale.

No hyper-parameter was chosen here: they are the paper's and the reference script's. The smoke
scale's smaller settings were sized on the training and validation splits (docs/tuning/smoke_targets.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from pytest_snnbench.verdict import SMOKE_TARGET_SOURCE


@dataclass(frozen=True)
class Config:
    time_steps: int = 50
    batch_size: int = 128
    learning_rate: float = 1e-2
    beta: float = 0.5
    surrogate_slope: float = 25.0
    betas: tuple[float, float] = (0.9, 0.9999)  # the SNNBench script's (torch's default is 0.999)
    train_samples: int | None = None  # None: the whole training split
    validation_size: int = 5000  # held out of the training images (the same split at every scale)
    check_samples: int | None = None  # validation images a check screens (None: all); confirmed on all
    test_samples: int | None = None
    eval_batch_size: int = 1000
    eval_every_samples: int | None = 12800  # 100 batches; and at each epoch's end
    max_epochs: int = 3  # the paper needs one; more only if the target is not met
    target_accuracy: float = 0.95


CONFIGS = {
    "full": Config(),
    # The same network on the real MNIST, 10 steps, 8,192 training images, two epochs: under a minute
    # on 2 cores (untrained it scores about 10 %, the majority class 11 %). Budget and target decided
    # on validation by docs/tuning/smoke_targets.py over seeds 0-4 and 1 and 2 threads: with 4,096
    # images the slowest run's plateau (78 %) lay below the fastest run's first check (82 %); with
    # 8,192 every plateau is at 87.3 % or more, so the target is the rule's plateau bound, 86 %.
    "smoke": Config(time_steps=10, batch_size=64, train_samples=8192, check_samples=1000,
                    test_samples=2000, eval_batch_size=500, eval_every_samples=4096, max_epochs=2,
                    target_accuracy=0.86),
}

TARGET_SOURCES = {"full": "the paper: 95 % (its Image-Backprop reached 97.73 % after one epoch)",
                  "smoke": SMOKE_TARGET_SOURCE}
