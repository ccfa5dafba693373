"""MNIST as tensors on the device, read with torchvision's loader from the IDX files."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import DataSetError
from .fingerprint import file_md5, tensor_fingerprint

RAW_FILES = {
    # file name: MD5 of the canonical uncompressed file
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
FULL_SIZES = {"train": 60000, "test": 10000}


@dataclass(frozen=True)
class MnistSplit:
    images: torch.Tensor  # float32 [N, 1, 28, 28] in [0, 1]
    labels: torch.Tensor  # int64 [N]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Mnist:
    train: MnistSplit
    test: MnistSplit
    raw_folder: Path
    canonical: bool  # byte-identical to the published files

    def info(self) -> dict[str, object]:
        return {
            "name": "MNIST",
            "train_samples": len(self.train),
            "test_samples": len(self.test),
            "fingerprint": tensor_fingerprint(self.train.labels, self.test.labels,
                                              self.train.images[:, :, ::7, ::7], self.test.images[:, :, ::7, ::7]),
            "canonical": self.canonical,
        }

    def to(self, device: torch.device) -> "Mnist":
        return Mnist(MnistSplit(self.train.images.to(device), self.train.labels.to(device)),
                     MnistSplit(self.test.images.to(device), self.test.labels.to(device)),
                     self.raw_folder, self.canonical)


def _missing_message(raw: Path, missing: list[str], reason: str) -> str:
    return (
        f"MNIST is not available: {reason}\n"
        f"  expected folder: {raw}\n"
        f"  missing files:   {', '.join(missing)}\n"
        "Put the four uncompressed IDX files there (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), point --snnbench-data-dir (or SNNBENCH_DATA) "
        "at the folder that holds MNIST/raw/, or allow the download (drop --snnbench-no-download)."
    )


def load_mnist(root: Path, download: bool) -> Mnist:
    """Read MNIST below ``root`` (``root/MNIST/raw/*``), downloading it first if allowed and missing."""
    from torchvision.datasets import MNIST

    root = Path(root)
    raw = root / "MNIST" / "raw"
    missing = [name for name in RAW_FILES if not (raw / name).is_file()]
    if missing:
        if not download:
            raise DataSetError(_missing_message(raw, missing, "downloads are off (--snnbench-no-download)"))
        try:
            print(f"\nDownloading MNIST to {raw} ...", flush=True)
            MNIST(str(root), train=True, download=True)  # torchvision shows its progress bars
        except Exception as error:  # offline, proxy, mirror down: all end the same way for the user
            raise DataSetError(_missing_message(raw, missing, f"the download failed ({error})")) from None
    splits = {}
    for split, train in (("train", True), ("test", False)):
        try:
            dataset = MNIST(str(root), train=train, download=False)
            images, labels = dataset.data, dataset.targets
        except Exception as error:
            raise DataSetError(
                f"MNIST in {raw} is corrupt or truncated ({type(error).__name__}: {error}).\n"
                "Delete the four files there and run again to download them, or copy intact ones in."
            ) from None
        _check_split(raw, split, images, labels)
        splits[split] = MnistSplit(images.unsqueeze(1).float().div_(255), labels.long())
    canonical = all(file_md5(raw / name) == md5 for name, md5 in RAW_FILES.items())
    return Mnist(splits["train"], splits["test"], raw, canonical)


def _check_split(raw: Path, split: str, images: torch.Tensor, labels: torch.Tensor) -> None:
    problem = None
    if images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        problem = f"{split} images have shape {tuple(images.shape)}, not N x 28 x 28"
    elif images.shape[0] != labels.shape[0]:
        problem = f"{split} has {images.shape[0]} images but {labels.shape[0]} labels"
    elif labels.numel() == 0:
        problem = f"{split} split is empty"
    elif int(labels.min()) < 0 or int(labels.max()) > 9:
        problem = f"{split} labels run from {int(labels.min())} to {int(labels.max())}, not 0 to 9"
    if problem:
        raise DataSetError(f"MNIST in {raw} is not valid: {problem}.\n"
                           "Replace the files with the original MNIST IDX files.")


def mnist_on_device(context) -> Mnist:
    """MNIST for a workload: read once per session, moved once per device."""
    on_cpu = context.dataset("mnist", lambda: load_mnist(context.data_dir, context.allow_download))
    return context.dataset(f"mnist@{context.device}", lambda: on_cpu.to(context.device))


VALIDATION_SIZE = 5000  # held out of the 60,000 training images, class-stratified


@dataclass(frozen=True)
class MnistSplits:
    """Three splits, three jobs: train on ``train``, decide on ``validation``, report on ``test``."""

    train: MnistSplit  # the training images outside the validation split, in their file order
    validation: MnistSplit  # a fixed, class-stratified, class-interleaved hold-out of the training images
    test: MnistSplit  # the 10,000 test images, untouched
    summary: dict[str, object]

    def info(self) -> dict[str, object]:
        return dict(self.summary)


def mnist_splits(context, validation_size: int = VALIDATION_SIZE) -> MnistSplits:
    """MNIST's three splits on the workload's device. The validation split depends on the data
    alone (never on the seed), so every run decides on the same images; its fingerprint is recorded."""
    from .splits import stratified_validation_split

    mnist = mnist_on_device(context)

    def build() -> MnistSplits:
        split = stratified_validation_split(mnist.train.labels, validation_size)
        keep, held_out = split.train.to(mnist.train.labels.device), split.validation.to(mnist.train.labels.device)
        summary = {**mnist.info(), **split.info(), "train_samples": int(keep.numel()),
                   "train_samples_in_file": len(mnist.train)}
        return MnistSplits(MnistSplit(mnist.train.images[keep], mnist.train.labels[keep]),
                           MnistSplit(mnist.train.images[held_out], mnist.train.labels[held_out]),
                           mnist.test, summary)

    return context.dataset(f"mnist-splits-{validation_size}@{context.device}", build)
