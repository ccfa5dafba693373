"""Held-out validation splits carved from training data: where targets and early stops are decided.

The test split only reports. A validation split is fixed by the data alone (not by the run's
seed), so every seed and every run decides on the same samples, and its fingerprint is recorded.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .fingerprint import tensor_fingerprint

SPLIT_SEED = 20150101  # fixed on purpose: the split must not move with --snnbench-seed


@dataclass(frozen=True)
class ValidationSplit:
    train: torch.Tensor  # indices into the training set that training may use, ascending
    validation: torch.Tensor  # held-out indices, in a fixed class-interleaved order

    def info(self) -> dict[str, object]:
        return {"validation_samples": int(self.validation.numel()),
                "validation_fingerprint": tensor_fingerprint(self.validation)}


def stratified_validation_split(labels: torch.Tensor, size: int) -> ValidationSplit:
    """Hold out ``size`` samples with each class in its share of ``labels``.

    The order of ``validation`` interleaves the classes, so that any prefix of it (a cheaper check
    on fewer samples) is stratified too.
    """
    labels = labels.cpu().long()
    total = labels.numel()
    if not 0 < size < total:
        raise ValueError(f"a validation split of {size} samples needs more than {size} training samples; "
                         f"there are {total}")
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    classes = labels.unique()
    counts = torch.stack([(labels == c).sum() for c in classes])
    quota = (counts.double() * size / total).floor().long()
    remainder = size - int(quota.sum())
    if remainder:  # largest fractional parts first, ties to the lower class
        fraction = counts.double() * size / total - quota.double()
        quota[torch.argsort(-fraction, stable=True)[:remainder]] += 1
    picked: list[torch.Tensor] = []
    for c, share in zip(classes.tolist(), quota.tolist()):
        members = (labels == c).nonzero().flatten()
        picked.append(members[torch.randperm(members.numel(), generator=generator)[:share]])
    # interleave: rank within class, spread evenly over [0, 1), then sort
    keys = torch.cat([torch.arange(p.numel(), dtype=torch.double) / max(p.numel(), 1) + 1e-6 * i
                      for i, p in enumerate(picked)])
    validation = torch.cat(picked)[torch.argsort(keys, stable=True)]
    keep = torch.ones(total, dtype=torch.bool)
    keep[validation] = False
    return ValidationSplit(train=keep.nonzero().flatten(), validation=validation)


def fixed_subset(total: int, count: int | None) -> torch.Tensor | slice:
    """``count`` of ``total`` samples picked by a permutation fixed by SPLIT_SEED (never by the run's
    seed), in their original order; everything (a plain slice) when ``count`` is None or not smaller.
    For data stored in a sorted order (Speech Commands by word), where a prefix would be a few classes."""
    if count is None or count >= total:
        return slice(None)
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    return torch.randperm(total, generator=generator)[:count].sort().values
