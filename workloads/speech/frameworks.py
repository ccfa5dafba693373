"""Which frameworks implement each speech workload's recurrent layer: one ``via_<framework>_<neuron>.py``
module each (``LIBRARY``, ``EQUAL``, ``MAPPING``, ``make_recurrent(input_size, hidden_size, config)``).

Adding a framework is adding its module and one line here. Proven equal to the paper's (Norse's) by
tests/test_speech_frameworks.py; docs/frameworks.md has the mappings.
"""
from __future__ import annotations

from pytest_snnbench.frameworks import Catalog

_NO_LSNN = "it has no adaptive-threshold (LSNN) neuron"
_NOT_AN_SNN = "the LSTM baseline is torch.nn.LSTM in every framework; run it as paper or torch (+compile)"

LIF = Catalog(workload="Speech-LIF", package=__package__, paper="norse",
              modules={"norse": "via_norse_lif", "snntorch": "via_snntorch_lif", "spikingjelly": "via_spikingjelly_lif",
                       "sinabs": "via_sinabs_lif", "rockpool": "via_rockpool_lif"},
              absent={"torch": "the paper's layer already runs as plain torch around Norse's threshold (norse)"})
LSNN = Catalog(workload="Speech-LSNN", package=__package__, paper="norse", modules={"norse": "via_norse_lsnn"},
               absent={"snntorch": f"snnTorch 1.0: {_NO_LSNN}", "spikingjelly": f"SpikingJelly 2.0: {_NO_LSNN}",
                       "sinabs": "not implemented (Sinabs 3.1 has an adaptive LIF, ALIF, not yet mapped onto Norse's LSNN)",
                       "rockpool": f"Rockpool 3.1: {_NO_LSNN} (its aLIFTorch adapts by an inhibitory current instead)",
                       "torch": "the paper's layer already runs as plain torch around Norse's threshold (norse)"})
LSTM = Catalog(workload="Speech-LSTM", package=__package__, paper="torch", modules={"torch": "via_torch_lstm"},
               absent={name: _NOT_AN_SNN for name in ("norse", "snntorch", "spikingjelly", "sinabs", "rockpool")})
CATALOGS = {"lif": LIF, "lsnn": LSNN, "lstm": LSTM}
