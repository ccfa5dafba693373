"""Which frameworks implement Image-Backprop's neuron: one ``via_<name>.py`` module each.

Adding a framework is adding its module and one line here. A module defines ``LIBRARY``, ``EQUAL``
(proven by tests/test_image_backprop_frameworks.py), ``MAPPING`` (pytest_snnbench.frameworks; the
details are in docs/frameworks.md) and ``make_neuron(beta, slope)``.
"""
from __future__ import annotations

from pytest_snnbench.frameworks import Catalog, Framework

CATALOG = Catalog(
    workload="Image-Backprop", package=__package__, paper="snntorch",  # the paper's: the default, the ratios' reference
    modules={"snntorch": "via_snntorch", "torch": "via_torch", "norse": "via_norse", "sinabs": "via_sinabs",
             "spikingjelly": "via_spikingjelly", "rockpool": "via_rockpool"})
PAPER = CATALOG.paper
MODULES = CATALOG.modules


def load(name: str) -> Framework:
    return CATALOG.load(name)
