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


def balanced_subset(labels: torch.Tensor, count: int | None) -> torch.Tensor | slice:
    """At most ``count`` samples, as evenly over the classes as they allow (each class at most its
    share, classes with fewer keep all), picked by a permutation fixed by SPLIT_SEED (never by the
    run's seed), in their original order; everything (a plain slice) when ``count`` is None or not
    smaller. A cap then keeps every class, however the data are sorted, and its majority class
    stays near 1 / classes: Speech Commands' "unknown" is 63 % of the paper's task in the archive."""
    total = int(labels.numel())
    if count is None or count >= total:
        return slice(None)
    labels = labels.cpu()
    order = torch.randperm(total, generator=torch.Generator().manual_seed(SPLIT_SEED))
    classes = labels.unique()
    share, extra = divmod(count, len(classes))
    chosen = []
    for rank, c in enumerate(classes.tolist()):
        members = order[labels[order] == c]
        chosen.append(members[: share + (1 if rank < extra else 0)])
    return torch.cat(chosen).sort().values


def balanced_first(labels: torch.Tensor, count: int | None) -> torch.Tensor | slice:
    """Every sample, reordered so that the first ``count`` are ``balanced_subset(labels, count)``
    (in their order) and the rest follow in theirs: a check can screen a class-balanced prefix and
    confirm on the whole split."""
    first = balanced_subset(labels, count)
    if isinstance(first, slice):
        return first
    rest = torch.ones(int(labels.numel()), dtype=torch.bool)
    rest[first] = False
    return torch.cat([first, rest.nonzero().flatten()])
