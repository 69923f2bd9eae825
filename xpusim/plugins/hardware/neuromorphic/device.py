"""The neuromorphic runtime: integer synapses with a per-layer exponent, spike-coded inputs,
an on-chip learning engine without optimizer state, no transposed read."""

from __future__ import annotations

import numpy as np

from xpusim.core import Device
from xpusim.core.errors import IncompatibleError

WEIGHT_FORMATS = {8: "int8", 4: "int4", 2: "int2"}


class NeuromorphicDevice(Device):
    """Weights as the chip holds them: ``weight_bits`` signed integers × 2^exponent per layer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.optimizer.name != "sgd":
            raise IncompatibleError(
                f"spec {self.spec.name!r}: the on-chip learning engine applies plain local "
                f"updates and keeps no optimizer state; use --optimizer sgd "
                f"(got {self.optimizer.name!r})")
        p = self.params
        self.wmax = 2 ** (p.weight_bits - 1) - 1
        self.activation_bits = max(1, int(np.ceil(np.log2(p.levels + 1)))) + 1  # + sign
        self.w_int: dict[int, np.ndarray] = {}
        self.w_scale: dict[int, float] = {}
        self.in_scale: dict[int, float] = {}
        self._pending_activity: float | None = None

    def operand_format(self, primitive: str, phase: str) -> tuple[int, str]:
        p = self.params
        if primitive in ("write", "update"):
            return p.weight_bits, WEIGHT_FORMATS.get(p.weight_bits, "int16")
        if primitive == "mvm":
            return (1, "spike") if p.coding == "rate" else (p.graded_bits, "spike")
        return p.trace_bits, "int8" if p.trace_bits <= 8 else "int16"

    def activity(self, x: np.ndarray) -> float:
        """Events per input element per timestep of the last encoding (mvm), or the fraction
        of active inputs (update)."""
        if self._pending_activity is not None:
            a, self._pending_activity = self._pending_activity, None
            return a
        return float(np.count_nonzero(x)) / max(x.size, 1)

    # -- weights ---------------------------------------------------------------------------

    def _write(self, layer: int, w: np.ndarray) -> None:
        largest = float(np.abs(w).max(initial=0.0)) * self.params.weight_headroom
        exponent = np.ceil(np.log2(largest / self.wmax)) if largest > 0 else 0.0
        scale = float(2.0 ** exponent)
        self.w_scale[layer] = scale
        self.w_int[layer] = np.clip(np.rint(w / scale), -self.wmax, self.wmax).astype(np.int32)

    def _read(self, layer: int) -> np.ndarray:
        return (self.w_int[layer] * self.w_scale[layer]).astype(np.float32)

    # -- spikes ----------------------------------------------------------------------------

    def _input_scale(self, layer: int, x: np.ndarray, phase: str) -> float:
        """Threshold-balanced input scale: a running maximum per layer (adaptive threshold);
        errors (train-backward) are scaled per batch, as graded third-factor signals."""
        peak = float(np.abs(x).max(initial=0.0))
        if phase == "train-backward":
            return peak if peak > 0 else 1.0
        scale = max(self.in_scale.get(layer, 0.0), peak)
        self.in_scale[layer] = scale
        return scale if scale > 0 else 1.0

    def encode(self, layer: int, x: np.ndarray, phase: str) -> tuple[np.ndarray, float]:
        """Spike counts (int32) for ``x`` and the value one count stands for."""
        p = self.params
        scale = self._input_scale(layer, x, phase) * p.threshold
        counts = np.empty(x.shape, dtype=np.int32)
        if p.coding == "rate":
            self.kernels.encode_rate(x, scale, p.timesteps, counts)
        else:
            self.kernels.encode_graded(x, scale, p.levels, counts)
        events = np.abs(counts).sum() if p.coding == "rate" else np.count_nonzero(counts)
        self._pending_activity = float(events) / max(x.size * p.steps, 1)
        return counts, scale / p.levels

    def _mvm(self, layer: int, x: np.ndarray, phase: str) -> np.ndarray:
        counts, unit = self.encode(layer, x, phase)
        from . import compute  # numba: imported when a product first runs

        acc = compute.integrate(counts, self.w_int[layer], self.params.accumulator_bits)
        return (acc * (unit * self.w_scale[layer])).astype(np.float32)

    def _mvm_t(self, layer: int, e: np.ndarray, phase: str) -> np.ndarray:
        raise IncompatibleError(f"spec {self.spec.name!r}: no transposed read of trained "
                                f"synapses (primitive 'mvm_t') on a neuromorphic chip")

    # -- learning engine -------------------------------------------------------------------

    def _update(self, layer: int, pre: np.ndarray, post: np.ndarray, lr: float,
                decay: np.ndarray | None, phase: str) -> None:
        p = self.params
        counts, unit = self.encode(layer, pre, "train-update")
        pre_trace = counts * np.float32(unit)
        post_scale = float(np.abs(post).max(initial=0.0)) or 1.0
        post_trace = np.empty_like(post)
        self.kernels.quantize_trace(post, post_scale, p.trace_bits, post_trace)
        w = self._read(layer)
        direction = pre_trace.T @ post_trace
        if decay is not None:
            direction = direction - w * decay[None, :]
        delta = (lr * direction / self.w_scale[layer]).astype(np.float64)
        u = self.rng.random(delta.shape)
        new = np.empty_like(self.w_int[layer])
        self.kernels.learn(self.w_int[layer], delta, u, self.wmax, new)
        self.w_int[layer] = new
        self._pending_activity = float(np.count_nonzero(counts)) / max(counts.size, 1)
