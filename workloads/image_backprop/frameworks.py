"""Which frameworks implement Image-Backprop's neuron: one ``via_<name>.py`` module each.

Adding a framework is adding its module and one line here. A module defines ``LIBRARY`` (the
distribution whose version is recorded), ``EQUAL`` (proven to compute the paper's neuron, by
tests/test_image_backprop_frameworks.py), ``MAPPING`` (how the paper's neuron is expressed in it; the
details are in docs/frameworks.md) and ``make_neuron(beta, slope)``. ``NAME+compile`` runs the same
network under ``torch.compile``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType

import pytest

PAPER = "snntorch"  # the paper's framework for this workload, the default and the ratios' reference
MODULES = {"snntorch": "via_snntorch", "torch": "via_torch", "norse": "via_norse", "sinabs": "via_sinabs",
           "spikingjelly": "via_spikingjelly"}
# Libraries beyond the design card's are optional: ``pip install pytest-snnbench[NAME]``.
EXTRAS = {"sinabs": "sinabs", "spikingjelly": "spikingjelly"}
COMPILED = "+compile"


@dataclass(frozen=True)
class Framework:
    name: str  # as given, e.g. "torch+compile"
    base: str  # "torch"
    compiled: bool
    module: ModuleType

    @property
    def version(self) -> str | None:
        try:
            return metadata.version(self.module.LIBRARY)
        except metadata.PackageNotFoundError:
            return None

    def record(self) -> dict[str, object]:
        """What every record and the run identity carry about the framework."""
        return {"framework": self.name, "framework_version": self.version, "compiled": self.compiled,
                "framework_equal": bool(self.module.EQUAL), "framework_mapping": self.module.MAPPING,
                "framework_is_paper": self.base == PAPER and not self.compiled}


def split(name: str) -> tuple[str, bool]:
    base = name[: -len(COMPILED)] if name.endswith(COMPILED) else name
    return base, name.endswith(COMPILED)


def load(name: str) -> Framework:
    """The framework ``name``; a library that is not installed is a skip that names its extra."""
    base, compiled = split(name)
    if base not in MODULES:
        raise pytest.UsageError(f"--snnbench-framework={name}: Image-Backprop has no {base!r} implementation; "
                                f"use one of {', '.join(MODULES)} (each may end in {COMPILED}).")
    try:
        module = importlib.import_module(f"{__package__}.{MODULES[base]}")
    except ImportError as error:
        extra = EXTRAS.get(base, base)
        pytest.skip(f"framework {base} is not installed ({error.name or error}): "
                    f"pip install 'pytest-snnbench[{extra}]' (or [all-frameworks])")
    return Framework(name, base, compiled, module)


def selected(config: pytest.Config) -> tuple[str, ...]:
    """The frameworks ``--snnbench-framework`` names for this workload, ``paper`` being snnTorch."""
    from pytest_snnbench.plugin import workload_options

    names = workload_options(config).get("snnbench_framework", ("paper",))
    resolved: list[str] = []
    for name in names:
        base, compiled = split(name)
        name = (PAPER if base == "paper" else base) + (COMPILED if compiled else "")
        if name not in resolved:
            resolved.append(name)
    return tuple(resolved)
