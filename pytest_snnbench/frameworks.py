"""The framework axis (``--snnbench-framework``): one workload's network in several SNN libraries.

A workload that offers it keeps, in its own folder, one ``via_<name>.py`` module per library and a
``Catalog`` saying which exist. Each module defines ``LIBRARY`` (the distribution whose version is
recorded), ``EQUAL`` (proven to compute the paper's network by the workload's equality tests),
``MAPPING`` (how the paper's neuron is expressed in it; the details are in docs/frameworks.md) and
the factory the workload builds its network from. ``NAME+compile`` runs the same network under
``torch.compile``. Adding a framework is one module and one line in the workload's catalogue.
This module knows no workload.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Mapping

import pytest

COMPILED = "+compile"
PAPER = "paper"  # the name that means "this workload's own framework, the paper's"
# Libraries beyond the design card's are optional: ``pip install pytest-snnbench[EXTRA]``.
EXTRAS = {"sinabs": "sinabs", "spikingjelly": "spikingjelly", "rockpool": "rockpool"}


@dataclass(frozen=True)
class Framework:
    name: str  # as run, e.g. "torch+compile"
    base: str  # "torch"
    compiled: bool
    module: ModuleType
    is_paper: bool  # the paper's framework, not compiled: the reference of every ratio

    @property
    def version(self) -> str | None:
        try:
            return metadata.version(self.module.LIBRARY)
        except metadata.PackageNotFoundError:
            return None

    def runnable(self, model: "torch.nn.Module") -> "torch.nn.Module":
        """What the workload calls: ``model`` itself, or compiled (``NAME+compile``); through
        ``RunsOnFramework.network``, which follows ``distribute()``."""
        import torch

        return torch.compile(model) if self.compiled else model

    def record(self) -> dict[str, object]:
        """What every record carries about the framework (record.framework_fields)."""
        return {"framework": self.name, "framework_version": self.version, "compiled": self.compiled,
                "framework_equal": bool(self.module.EQUAL), "framework_mapping": self.module.MAPPING,
                "framework_is_paper": self.is_paper}


class RunsOnFramework:
    """For a workload whose ``model`` runs through a ``framework``: ``network`` is what its steps call,
    the model as the framework runs it (compiled for ``NAME+compile``). It is made again whenever
    ``model`` is replaced, as ``distribute()`` does with its data-parallel wrapper, so that a compiled
    network runs the wrapper. The optimiser holds the model's own parameters, which both run."""

    framework: Framework
    model: "torch.nn.Module"

    @property
    def network(self) -> "torch.nn.Module":
        made_for, network = self.__dict__.get("_network", (None, None))
        if made_for is not self.model:
            network = self.framework.runnable(self.model)
            # Kept as a pair, so that distribute() (which replaces attributes holding a trained
            # module) does not mistake it for the model.
            self.__dict__["_network"] = (self.model, network)
        return network


def split(name: str) -> tuple[str, bool]:
    """``"torch+compile"`` -> ``("torch", True)``."""
    compiled = name.endswith(COMPILED)
    return (name[: -len(COMPILED)] if compiled else name), compiled


@dataclass(frozen=True)
class Catalog:
    """The frameworks one workload is implemented in.

    ``modules``: framework -> its module in ``package``; ``absent``: framework -> why this workload
    is not implemented in it (the skip says so, e.g. a library without the neuron).
    """

    workload: str
    package: str
    paper: str
    modules: Mapping[str, str]
    absent: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, name: str) -> str:
        """``paper`` (optionally ``+compile``) -> this workload's own framework's name."""
        base, compiled = split(name)
        return (self.paper if base == PAPER else base) + (COMPILED if compiled else "")

    def load(self, name: str) -> Framework:
        """The framework ``name``. One this workload has no implementation in, or whose library is
        not installed, is a skip that says why (and names the extra to install)."""
        resolved = self.resolve(name)
        base, compiled = split(resolved)
        if base not in self.modules:
            why = self.absent.get(base, f"not implemented; it runs in {', '.join(self.modules)}")
            pytest.skip(f"{self.workload} in {base}: {why}")
        try:
            module = importlib.import_module(f"{self.package}.{self.modules[base]}")
        except ImportError as error:
            extra = EXTRAS.get(base, base)
            pytest.skip(f"framework {base} is not installed ({error.name or error}): "
                        f"pip install 'pytest-snnbench[{extra}]' (or [all-frameworks])")
        return Framework(resolved, base, compiled, module, is_paper=base == self.paper and not compiled)

    def selected(self, config: pytest.Config) -> tuple[str, ...]:
        """The frameworks ``--snnbench-framework`` names, ``paper`` resolved, each once, in order."""
        from .plugin import workload_options

        resolved: list[str] = []
        for name in workload_options(config).get("snnbench_framework", (PAPER,)):
            if self.resolve(name) not in resolved:
                resolved.append(self.resolve(name))
        return tuple(resolved)

    def parametrize(self, metafunc: pytest.Metafunc) -> None:
        """Several frameworks given (``--snnbench-framework=a,b``): each runs as its own test."""
        if "framework" in metafunc.fixturenames:
            names = self.selected(metafunc.config)
            if len(names) > 1:
                metafunc.parametrize("framework", names)
