"""Options and markers of the image workloads (loaded at start-up by the core; imports nothing heavy)."""
from __future__ import annotations

import pytest

STDP_SIZES = (100, 400, 1600, 6400)
STDP_ENGINES = ("fast", "bindsnet")


def stdp_engines(text: str) -> tuple[str, ...]:
    """Engines in the order given, ``auto`` kept (it depends on the device: ``resolve_stdp_engine``)."""
    engines: list[str] = []
    for part in str(text).split(","):
        engine = part.strip().lower()
        if engine not in STDP_ENGINES + ("auto",):
            raise ValueError(f"{part.strip()!r} is unknown; use fast, bindsnet or auto (or two of them, "
                             "e.g. bindsnet,fast).")
        if engine not in engines:
            engines.append(engine)
    return tuple(engines)


def resolve_stdp_engine(engine: str, device: str) -> str:
    """``auto`` is ``fast`` on the CPU and ``bindsnet`` on CUDA (the fast engine is CPU code)."""
    if engine == "auto":
        return "bindsnet" if str(device).startswith("cuda") else "fast"
    return engine


def _fast_engine_needs_the_cpu(values: dict, core) -> None:
    devices = (core.device,) + tuple(core.device_sweep) if core is not None else ()
    if "fast" in values.get("snnbench_stdp_engine", ()) and any(str(d).startswith("cuda") for d in devices):
        raise ValueError("--snnbench-stdp-engine=fast runs on the CPU only; with --device=cuda use "
                         "--snnbench-stdp-engine=bindsnet (or auto).")


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
    options.add("--snnbench-stdp-sizes", default="100,400,1600", parse=stdp_sizes, metavar="N,N",
                help="Image-STDP network sizes to run, from 100, 400, 1600, 6400 (default: 100,400,1600; "
                     "6400 trains for hours even with the fast engine).")
    options.add("--snnbench-stdp-engine", default="auto", parse=stdp_engines, metavar="ENGINE[,ENGINE]",
                help="Image-STDP simulation engine: fast (compiled, event-driven, proven equal to BindsNET; "
                     "CPU only), bindsnet (BindsNET's own code, the reference), or auto (default: fast on "
                     "the CPU, bindsnet on CUDA). Two, e.g. bindsnet,fast, run side by side.")
    options.add("--snnbench-stdp-samples", default=None, parse=positive_int, metavar="N",
                help="Stop Image-STDP training after N samples: a throughput probe for set-ups that would "
                     "train for days (e.g. BindsNET at 6400 neurons). A run stopped before its target fails.")
    options.add_check(_fast_engine_needs_the_cpu)
    options.add("--snnbench-stdp-batch", default="1", parse=positive_int, metavar="N",
                help="Image-STDP training batch size (default: 1, the paper's definition; more is faster "
                     "and recorded with the result).")
