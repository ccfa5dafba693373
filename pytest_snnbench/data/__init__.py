"""Data sets, read from their published on-disk formats into tensors."""
from .errors import DataSetError
from .mnist import Mnist, MnistSplit, load_mnist, mnist_on_device

__all__ = ["DataSetError", "Mnist", "MnistSplit", "load_mnist", "mnist_on_device"]
