"""Options and markers of the image workloads (loaded at start-up by the core; imports nothing heavy)."""
from __future__ import annotations

import pytest

from .framework_plugin import engine_names, event_engine_needs_the_cpu

STDP_SIZES = (100, 400, 1600, 6400)
STDP_ENGINES = ("fast", "bindsnet")
CONVERSION_ENGINES = ("event", "bindsnet")


def _engine_list(text: str, known: tuple[str, ...]) -> tuple[str, ...]:
    """Engines in the order given, each once, ``auto`` kept (it depends on the device)."""
    engines: list[str] = []
    for part in str(text).split(","):
        engine = part.strip().lower()
        if engine not in known + ("auto",):
            raise ValueError(f"{part.strip()!r} is unknown; use {', '.join(known)} or auto (or two of them, "
                             f"e.g. {known[1]},{known[0]}).")
        if engine not in engines:
            engines.append(engine)
    return tuple(engines)


def stdp_engines(text: str) -> tuple[str, ...]:
    return _engine_list(text, STDP_ENGINES)


def conversion_engines(text: str) -> tuple[str, ...]:
    return _engine_list(text, CONVERSION_ENGINES)


def resolve_stdp_engine(engine: str, device: str) -> str:
    """``auto`` is ``fast`` on the CPU and ``bindsnet`` on CUDA (the fast engine is CPU code)."""
    if engine == "auto":
        return "bindsnet" if str(device).startswith("cuda") else "fast"
    return engine


def resolve_conversion_engine(engine: str, device: str) -> str:
    """``auto`` is ``event`` on the CPU and ``bindsnet`` on CUDA (the event engine is CPU code)."""
    if engine == "auto":
        return "bindsnet" if str(device).startswith("cuda") else "event"
    return engine


def _cpu_engines_need_the_cpu(values: dict, core) -> None:
    devices = (core.device,) + tuple(core.device_sweep) if core is not None else ()
    if not any(str(d).startswith("cuda") for d in devices):
        return
    if "fast" in values.get("snnbench_stdp_engine", ()):
        raise ValueError("--snnbench-stdp-engine=fast runs on the CPU only; with --device=cuda use "
                         "--snnbench-stdp-engine=bindsnet (or auto).")
    if "event" in values.get("snnbench_conversion_engine", ()):
        raise ValueError("--snnbench-conversion-engine=event runs on the CPU only; with --device=cuda use "
                         "--snnbench-conversion-engine=bindsnet (or auto).")


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
    options.add("--snnbench-conversion-engine", default="auto", parse=conversion_engines, metavar="ENGINE[,ENGINE]",
                help="Image-Conversion SNN inference engine: event (compiled, spike-driven, proven equal to "
                     "BindsNET; CPU only), bindsnet (BindsNET's own Network.run, the reference), or auto (default: "
                     "event on the CPU, bindsnet on CUDA). Two, e.g. bindsnet,event, run side by side.")
    options.add_check(_cpu_engines_need_the_cpu)
    options.add("--snnbench-backprop-engine", default="framework", parse=engine_names, metavar="ENGINE[,ENGINE]",
                help="Image-Backprop engine: framework (default: the framework's own code, snnTorch's for the "
                     "paper) or event (snnTorch's neuron as compiled loops with a hand-written backward, the second "
                     "convolution and the readout driven by their input spikes; proven equal to snnTorch; CPU "
                     "only). Both, framework,event, run side by side.")
    options.add_check(event_engine_needs_the_cpu("snnbench-backprop-engine"))
    options.add("--snnbench-stdp-batch", default="1", parse=positive_int, metavar="N",
                help="Image-STDP training batch size (default: 1, the paper's definition; more is faster "
                     "and recorded with the result).")
