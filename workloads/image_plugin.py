"""Options and markers of the image workloads (loaded at start-up by the core; imports nothing heavy)."""
from __future__ import annotations

import pytest

STDP_SIZES = (100, 400, 1600, 6400)


def stdp_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(part) for part in str(text).split(",") if part.strip()}))
    except ValueError:
        sizes = ()
    if not sizes or any(size not in STDP_SIZES for size in sizes):
        raise ValueError(f"give a comma-separated list from {', '.join(map(str, STDP_SIZES))}, "
                         "e.g. --snnbench-stdp-sizes=100,400,1600,6400.")
    return sizes


def positive_int(text: str) -> int:
    try:
        value = int(str(text))
    except ValueError:
        raise ValueError("not a whole number; give e.g. 1.") from None
    if value < 1:
        raise ValueError("must be at least 1.")
    return value


@pytest.hookimpl
def pytest_snnbench_add_options(options) -> None:
    options.add_marker("image", "an image-classification workload (MNIST)")
    options.add_marker("stdp", "trained by spike-timing-dependent plasticity (BindsNET)")
    options.add_marker("backprop", "trained by surrogate-gradient backpropagation")
    options.add_marker("conversion", "an ANN converted to an SNN")
    options.add_marker("lif", "built of leaky integrate-and-fire neurons")
    options.add("--snnbench-stdp-sizes", default="100,400", parse=stdp_sizes, metavar="N,N",
                help="Image-STDP network sizes to run, from 100, 400, 1600, 6400 (default: 100,400; "
                     "1600 and 6400 take days on a CPU).")
    options.add("--snnbench-stdp-batch", default="1", parse=positive_int, metavar="N",
                help="Image-STDP training batch size (default: 1, the paper's definition; more is faster "
                     "and recorded with the result).")
