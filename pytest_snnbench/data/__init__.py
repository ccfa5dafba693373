"""Data sets, read from their published on-disk formats into tensors."""
from .errors import DataSetError
from .mnist import Mnist, MnistSplit, MnistSplits, load_mnist, mnist_on_device, mnist_splits

__all__ = ["DataSetError", "Mnist", "MnistSplit", "MnistSplits", "load_mnist", "mnist_on_device", "mnist_splits"]
from .speech_commands import SpeechCommands, load_speech_commands, speech_commands_on_device  # noqa: E402

__all__ += ["SpeechCommands", "load_speech_commands", "speech_commands_on_device"]
