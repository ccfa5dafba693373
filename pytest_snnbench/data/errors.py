"""Errors about data sets, worded for the person who has to fix them."""
from __future__ import annotations


class DataSetError(Exception):
    """A data set is missing, cannot be downloaded, or is corrupt. The message says what to do."""
