"""Operator profiles grouped as in the paper's figure 2."""
from .categories import CATEGORIES, UNMAPPED, categorize
from .window import profile_steps

__all__ = ["CATEGORIES", "UNMAPPED", "categorize", "profile_steps"]
