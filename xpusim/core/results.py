"""Run configuration and results: everything a run produced, serialisable to JSON and pandas."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import attrs

from .. import __version__


@attrs.frozen
class RunConfig:
    """One training run: hardware spec x method x model x data set x seed (+ options)."""

    hardware: str = "h100-sxm"
    method: str = "backprop"
    model: str = "mlp:64-256-10"
    dataset: str = "digits"
    epochs: int = 20
    batch_size: int = 32
    seed: int = 0
    lr: float | None = None
    optimizer: str = "adam"
    momentum: float = 0.9
    overrides: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    options: tuple[tuple[str, Any], ...] = attrs.field(
        default=(), converter=lambda o: tuple(sorted(dict(o).items())))
    lifetime_inferences: float = 1e9
    plugins: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    serve_hardware: str | None = None
    """Serve on another spec: trained weights are deployed there and inference is priced
    there (e.g. train on a GPU, serve int8 on a systolic array). None: serve where trained."""
    serve_overrides: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def to_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["overrides"] = list(self.overrides)
        d["options"] = dict(self.options)
        d["plugins"] = list(self.plugins)
        if self.serve_hardware is None:  # runs that serve where they train hash as before
            d.pop("serve_hardware")
            d.pop("serve_overrides")
        else:
            d["serve_overrides"] = list(self.serve_overrides)
        return d

    @staticmethod
    def spec_hash_of(train_hash: str, serve_hash: str | None = None) -> str:
        """The spec part of the run hash: the training spec's, joined with the serving
        spec's when the run serves elsewhere."""
        return train_hash if serve_hash is None else f"{train_hash}+{serve_hash}"

    def hash(self, spec_hash: str = "") -> str:
        """Stable 16-hex hash of the configuration (plugins excluded) and the resolved spec."""
        d = self.to_dict()
        d.pop("plugins")
        d["spec_hash"] = spec_hash
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


@attrs.frozen
class RunResult:
    """What a run produced. Units are in the key names; costs state their boundary."""

    config: dict[str, Any]
    status: str  # "ok" or "diverged"
    final_test_accuracy: float
    accuracy_per_epoch: list[float]
    loss_per_epoch: list[float]
    training: dict[str, Any]
    inference_per_sample: dict[str, Any]
    deploy: dict[str, Any]
    peak_activation_bytes: int
    trace_summary: dict[str, Any]
    failure: str | None = None
    failed_step: int | None = None
    meta: dict[str, Any] = attrs.field(factory=dict)

    def lifetime(self, n_inferences: float) -> dict[str, float]:
        """Training + deployment + ``n_inferences`` inferences: time (s), energy (J), money (USD)."""
        inf = self.inference_per_sample
        return {key: self.training[key] + self.deploy.get(key, 0.0) + n_inferences * inf[key]
                for key in ("time_s", "energy_j", "money_usd")}

    def to_json(self) -> dict[str, Any]:
        """Plain data; ``final_test_accuracy`` at the top level."""
        d = attrs.asdict(self)
        n = float(self.config.get("lifetime_inferences", 1e9))
        d["lifetime"] = {"n_inferences": n, **self.lifetime(n)}
        d["version"] = __version__
        return d

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False, default=float)

    def to_row(self) -> dict[str, Any]:
        """One flat row for a pandas DataFrame (breakdowns as ``training.energy_by_component_j.x``)."""
        row: dict[str, Any] = {}

        def flatten(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    flatten(f"{prefix}.{k}" if prefix else str(k), v)
            elif isinstance(value, list):
                row[prefix] = json.dumps(value)
            else:
                row[prefix] = value

        d = self.to_json()
        d.pop("meta", None)
        flatten("", d)
        return row
