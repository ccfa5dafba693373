"""The LSTM baseline's framework, the paper's as well: ``torch.nn.LSTM`` of the same size."""
from __future__ import annotations

from torch import nn

from .config import Config

LIBRARY = "torch"
EQUAL = True  # it is the reference
MAPPING = "torch.nn.LSTM(input_size, hidden_size), one layer, time first."


def make_recurrent(input_size: int, hidden_size: int, config: Config) -> nn.Module:
    return nn.LSTM(input_size, hidden_size)
