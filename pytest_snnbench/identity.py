"""One run identity: what makes two runs "the same run", defined once.

Used by the model cache (a model is reused only by a run of the same identity), checkpoints (a
checkpoint resumes only the run of its identity), the metric gate (runs of different identities are
not compared unless asked for) and the scaling comparison. Every record stores it as ``identity``
(``fields`` and their ``hash``).

The fields: the code's hash, the workload and every hyper-parameter of its configuration, the data
and split fingerprints, the engine, the framework (its version, compiled or not), the speech task,
seed, scale, device, both thread counts (float rounding changes with them), the world size and batch rule of a data-parallel run, the
epoch budget of a convergence run, and the package versions. The machine (CPU model, speed) is deliberately not part of it: comparing machines is what a
benchmark is for. The gate also ignores ``code``, because comparing commits is what a regression gate
is for; the cache and the checkpoints do not.
"""
from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from . import __version__

# What the gate ignores by default: what regression gating compares (another commit of the code).
GATE_IGNORES = ("code",)


def data_fingerprints(data_info: Mapping[str, Any]) -> dict[str, Any]:
    """The data set's name and every ``*fingerprint`` entry (whole set, validation split, ...), not
    the rest of ``data_info`` (which may hold what training produced, e.g. STDP's assignments)."""
    kept = {key: value for key, value in data_info.items() if key.endswith("fingerprint")}
    if "name" in data_info:
        kept["name"] = data_info["name"]
    return dict(sorted(kept.items()))


def canonical(value: Any) -> Any:
    """The JSON form everything is compared in (tuples become lists, dataclasses their str)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


@dataclass(frozen=True)
class RunIdentity:
    fields: dict[str, Any]

    @classmethod
    def build(cls, *, workload: str, hyperparameters: Mapping[str, Any], data_info: Mapping[str, Any],
              seed: int, scale: str, device: str, intra_op_threads: int | None, inter_op_threads: int | None,
              world_size: int = 1, batch_rule: str | None = None, packages: Mapping[str, Any] | None = None,
              code: str | None = None, python: str | None = None,
              framework_version: str | None = None, budget_epochs: int | None = None) -> "RunIdentity":
        return cls(canonical({
            "code": code,
            "workload": workload,
            "hyperparameters": dict(hyperparameters),
            "data": data_fingerprints(data_info),
            "engine": hyperparameters.get("engine"),
            "task": hyperparameters.get("task"),
            "seed": seed,
            "scale": scale,
            "device": device,
            "intra_op_threads": intra_op_threads,
            "inter_op_threads": inter_op_threads,
            "world_size": world_size,
            "batch_rule": batch_rule if world_size > 1 else None,
            "packages": {**(packages or {}), "pytest-snnbench": __version__},
            "python": python or platform.python_version(),
            # Only where a workload offers several frameworks: the others' identities stay as they were.
            **({"framework": hyperparameters["framework"], "compiled": hyperparameters.get("compiled"),
                "framework_version": framework_version} if "framework" in hyperparameters else {}),
            # Only for a convergence run (--snnbench-budget=epochs:N): a time-to-target run's stays as it was.
            **({"budget_epochs": budget_epochs} if budget_epochs else {}),
        }))

    @classmethod
    def of_record(cls, record: Mapping[str, Any]) -> "RunIdentity":
        """The identity a record stores; for records written before it existed, rebuilt from the
        fields they carry (their code hash is unknown)."""
        stored = record.get("identity")
        if isinstance(stored, Mapping) and isinstance(stored.get("fields"), Mapping):
            return cls(canonical(dict(stored["fields"])))
        distributed = record.get("distributed") if isinstance(record.get("distributed"), Mapping) else {}
        rebuilt = cls.build(workload=str(record.get("family") or record.get("workload")),
                         hyperparameters=record.get("hyperparameters") or {}, data_info=record.get("data") or {},
                         seed=record.get("seed"), scale=record.get("scale"), device=record.get("device"),
                         intra_op_threads=record.get("intra_op_threads"),
                         inter_op_threads=record.get("inter_op_threads"),
                         world_size=int(record.get("world_size") or 1), batch_rule=distributed.get("batch_rule"),
                         packages={k: v for k, v in (record.get("packages") or {}).items() if k != "pytest-snnbench"},
                         code=None, python=None)
        # What such a record does not tell is left out, so it never counts as a difference.
        return rebuilt.without(("code", "python"))

    @property
    def hash(self) -> str:
        return digest(self.fields)

    def without(self, names: Iterable[str]) -> "RunIdentity":
        names = set(names)
        return RunIdentity({key: value for key, value in self.fields.items() if key not in names})

    def differences(self, other: "RunIdentity", ignore: Iterable[str] = ()) -> list[str]:
        """``field: mine -> other's`` for every leaf that differs (dotted paths), ``ignore`` and the
        fields only one of them knows (an identity rebuilt from an older record) left out."""
        unknown = set(self.fields) ^ set(other.fields)
        skip = {*ignore, *unknown}
        return differences(self.without(skip).fields, other.without(skip).fields)

    def as_record(self) -> dict[str, Any]:
        return {"fields": self.fields, "hash": self.hash}


def digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


_MISSING = object()


def differences(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """``field: before -> now`` for every leaf that differs (dotted paths, e.g. ``hyperparameters.max_epochs``)."""
    old_flat, new_flat = _flatten(before), _flatten(now)
    lines = []
    for key in sorted(set(old_flat) | set(new_flat)):
        old, new = old_flat.get(key, _MISSING), new_flat.get(key, _MISSING)
        if old != new:
            lines.append(f"{key}: {_shown(old)} -> {_shown(new)}")
    return lines


def _shown(value: Any) -> str:
    return "(absent)" if value is _MISSING else repr(value)
