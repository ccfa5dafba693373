"""Hand a trained model from a training workload to its inference workload.

Within a session the state is kept in memory; across sessions it is saved under the cache folder,
keyed by everything that defines it, and loaded with ``weights_only=True`` (no pickled code runs).
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from .atomic import write_atomically

FORMAT = 1


def _package_files(folder: Path) -> list[Path]:
    """The .py files of a folder and of its subpackages (folders with an __init__.py), recursively:
    a workload's own code (image_stdp/diehl_cook/), never a whole tree it happens to sit in."""
    files = sorted(folder.glob("*.py"))
    for sub in sorted(path for path in folder.iterdir() if (path / "__init__.py").is_file()):
        files.extend(_package_files(sub))
    return files


@functools.lru_cache(maxsize=None)
def code_fingerprint(workload_file: str) -> str:
    """A hash of the Python files in the workload's folder (its module, its network, its framework
    modules, its subpackages) and of the plugin's own: a model trained by other code (another loop,
    split or engine) is another model, even with the same hyper-parameters."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in [*_package_files(Path(workload_file).resolve().parent), *sorted(package.rglob("*.py"))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class ModelStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder) / "models"
        self._session: dict[str, dict[str, Any]] = {}

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.pt"

    def put(self, key: str, state: dict[str, Any], metadata: dict[str, Any], save: bool = True) -> Path:
        """Keep the state for this session, and unless ``save`` is False (ranks other than 0 of a
        data-parallel run, which hold the same model) also in the cache folder."""
        self._session[key] = (state, metadata)
        path = self.path(key)
        if not save:
            return path
        saved = {"format": FORMAT, "metadata": json.dumps(metadata, default=str), "state": state}
        write_atomically(path, lambda out: torch.save(saved, out))  # never a half-written model
        return path

    def get(self, key: str, fallback_prefix: str | None = None) -> tuple[dict[str, Any], str, dict[str, Any]] | None:
        """(state, where it came from, metadata) or None. Without an exact match, the newest model
        whose key starts with ``fallback_prefix`` (the same model trained with other execution
        settings: threads, ranks, device), if any; its source then says ``other-settings``."""
        if key in self._session:
            state, metadata = self._session[key]
            return state, "same-run", metadata
        found = self._load(self.path(key))
        if found is not None or not fallback_prefix:
            return found
        for other in sorted(self._session):
            if other.startswith(fallback_prefix):
                state, metadata = self._session[other]
                return state, "same-run:other-settings", metadata
        candidates = sorted(self.folder.glob(f"{fallback_prefix}*.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in candidates:
            found = self._load(path)
            if found is not None:
                state, source, metadata = found
                return state, f"{source} (other-settings)", metadata
        return None

    def _load(self, path: Path) -> tuple[dict[str, Any], str, dict[str, Any]] | None:
        if not path.is_file():
            return None
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            if saved.get("format") != FORMAT:
                return None
            metadata = json.loads(saved["metadata"])
        except Exception:
            return None  # an unreadable cache entry is retrained, not trusted
        return saved["state"], f"cache:{path}", metadata
