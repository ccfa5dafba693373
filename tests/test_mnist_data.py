"""MNIST loading: real IDX files in, tensors out; missing or broken files give one clear message."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from pytest_snnbench.data import DataSetError, load_mnist
from tests.conftest import snnbench_args
from tests.mnist_files import write_mnist


def test_reads_generated_idx_files(tiny_mnist: Path) -> None:
    mnist = load_mnist(tiny_mnist, download=False)
    assert mnist.train.images.shape == (600, 1, 28, 28) and mnist.test.images.shape == (200, 1, 28, 28)
    assert mnist.train.images.dtype == torch.float32 and 0 <= mnist.train.images.min() <= mnist.train.images.max() <= 1
    assert set(mnist.train.labels.tolist()) == set(range(10))
    info = mnist.info()
    assert info["canonical"] is False  # generated files are not the published MNIST
    assert info["fingerprint"] == load_mnist(tiny_mnist, download=False).info()["fingerprint"]


def test_fingerprint_changes_with_the_data(tmp_path: Path, tiny_mnist: Path) -> None:
    write_mnist(tmp_path, train=600, test=200, seed=7)
    assert load_mnist(tmp_path, False).info()["fingerprint"] != load_mnist(tiny_mnist, False).info()["fingerprint"]


def test_missing_files_without_download_name_the_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(DataSetError) as error:
        load_mnist(tmp_path, download=False)
    message = str(error.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert name in message
    assert "--snnbench-data-dir" in message and "SNNBENCH_DATA" in message


@pytest.mark.parametrize("damage", ["truncate", "garbage", "labels-out-of-range", "count-mismatch"])
def test_corrupt_files_are_reported_clearly(tmp_path: Path, tiny_mnist: Path, damage: str) -> None:
    shutil.copytree(tiny_mnist / "MNIST", tmp_path / "MNIST")
    raw = tmp_path / "MNIST" / "raw"
    images, labels = raw / "train-images-idx3-ubyte", raw / "train-labels-idx1-ubyte"
    if damage == "truncate":
        images.write_bytes(images.read_bytes()[:5000])
    elif damage == "garbage":
        images.write_bytes(b"not an idx file at all" * 10)
    elif damage == "labels-out-of-range":
        data = bytearray(labels.read_bytes())
        data[8] = 42
        labels.write_bytes(bytes(data))
    else:
        data = labels.read_bytes()
        labels.write_bytes(data[:4] + (599).to_bytes(4, "big") + data[8:-1])
    with pytest.raises(DataSetError, match="MNIST in .* is (corrupt or truncated|not valid)"):
        load_mnist(tmp_path, download=False)


def test_a_session_without_data_stops_with_one_clear_message(pytester: pytest.Pytester, tmp_path: Path) -> None:
    empty = tmp_path / "nothing-here"
    result = pytester.runpytest_subprocess(
        *snnbench_args(empty, tmp_path / "cache", "--snnbench-no-download", "-m", "image and backprop",
                       "-rN"))  # no short summary: its width depends on the terminal
    assert result.ret == pytest.ExitCode.INTERRUPTED  # stopped: the other workloads need the same data
    output = result.stdout.str()
    assert "MNIST is not available: downloads are off (--snnbench-no-download)" in output
    assert str(empty / "MNIST" / "raw") in output
    assert "Traceback" not in output and "torchvision/datasets" not in output
    # The run stops after the first failure instead of repeating it for every workload.
    assert output.count("MNIST is not available") == 1


def test_a_failed_download_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.datasets import MNIST

    def offline(self) -> None:
        raise OSError("Name or service not known")

    monkeypatch.setattr(MNIST, "download", offline)
    with pytest.raises(DataSetError, match=r"the download failed \(Name or service not known\)") as error:
        load_mnist(tmp_path, download=True)
    assert str(tmp_path / "MNIST" / "raw") in str(error.value)


def test_a_missing_data_set_is_downloaded_when_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    from torchvision.datasets import MNIST

    calls = []

    def fake_download(self) -> None:  # stands in for the mirrors: writes the files where torchvision would
        calls.append(self.raw_folder)
        write_mnist(Path(self.root), train=100, test=50)

    monkeypatch.setattr(MNIST, "download", fake_download)
    mnist = load_mnist(tmp_path, download=True)
    assert len(calls) == 1 and len(mnist.train) == 100 and len(mnist.test) == 50
    assert "Downloading MNIST to" in capsys.readouterr().out
