"""Analog runtime: weights as conductance pairs on crossbar tiles (programmed, with drift) or
as pulsed devices (in-situ / hybrid training), read through DACs and ADCs.

Modes (``training_mode``):
* ``hardware-aware``: fp32 master weights and the digital optimizer; the training forward pass
  runs through the analog model with programming noise and the ``modifier`` injected per
  batch; weights are programmed once (program-and-verify) in ``finalize_training``.
* ``in-situ``: the update is stochastic coincident pulse trains applied to pulsed devices, with
  plain SGD or a Tiki-Taka-family rule (``insitu.py``); the digital optimizer is not used.
* ``hybrid``: the optimizer's step accumulates digitally (chi); whole device steps are
  transferred as pulses (Nandakumar et al. 2020 mixed precision).

Every layer (weight matrix) reads its own parameters: the spec with its ``[layers.N]`` table.
"""

from __future__ import annotations

import math

import numpy as np

from xpusim.core import Device

from .params import layer_params, periphery

# The runtime modules compile numba kernels; they are imported with the first device, so that
# registering the backend and loading its specs import no numba.
hwa = insitu = programmed = None


def _import_runtime() -> None:
    global hwa, insitu, programmed
    from . import hwa, insitu, programmed  # noqa: F811

MAX_BOUND_ITERATIONS = 10
KEY_BLOCK = 64  # stream keys drawn from the Generator at a time
READ_CACHE_SIZE = 16  # peripheries whose read settings are kept (see ``_read_settings``)


class AnalogDevice(Device):
    """Crossbar tiles with DAC/ADC periphery (see module docstring)."""

    def __init__(self, *args, **kwargs):
        _import_runtime()
        self._layer_cache: dict = {}
        self._read_cache: dict[int, tuple] = {}  # id(periphery) -> (it, its read settings)
        super().__init__(*args, **kwargs)
        p = self.params
        self.mode = p.training_mode
        self.master: dict[int, np.ndarray] = {}   # hardware-aware: fp32 master weights
        self.dirty: set[int] = set()
        self.prog: dict[int, dict] = {}           # programmed conductances
        self.read: dict[int, tuple] = {}          # (Wn, col_gain, slices) at inference time
        self.rules: dict[int, object] = {}        # in-situ / hybrid update rules
        self.updates: dict[int, int] = {}         # pulsed updates per layer (LR schedule)
        self.ranges: dict[int, hwa.InputRangeState] = {}
        self._step_weights: dict[int, tuple] = {}  # a training step's (noisy) weights
        self._activity: float | None = None
        self._row_bits: int | None = None
        self._rereads = 0   # extra reads of iterative bound management, priced as mvm rows
        self._key_block = np.zeros(0, np.uint64)
        self._key_pos = 0
        self.activation_bits = p.dac.bits

    # -- parameters per layer --------------------------------------------------------------------

    @property
    def params(self):
        return self._params

    @params.setter
    def params(self, value):
        self._params = value
        self._layer_cache = {}

    def lp(self, layer):
        """Parameters of weight matrix ``layer`` (the spec with its ``[layers.N]`` table)."""
        key = ("params", layer)
        if key not in self._layer_cache:
            self._layer_cache[key] = layer_params(self.params, layer)
        return self._layer_cache[key]

    def periph(self, layer, which):
        key = (which, layer)
        if key not in self._layer_cache:
            self._layer_cache[key] = periphery(self.lp(layer), which)
        return self._layer_cache[key]

    # -- formats and capacity --------------------------------------------------------------------

    def operand_format(self, primitive, phase):
        if primitive in ("mvm", "mvm_t"):
            return self.params.dac.bits, "analog"
        if primitive == "update":
            if self.mode == "hardware-aware":
                return 32, "fp32"
            bits, self._row_bits = self._row_bits, None  # pulse slots per sample (BL)
            return (bits or self.params.pulsed.pulse_train_length), "analog"
        if primitive == "write":
            digital = self.mode == "hardware-aware" and phase != "deploy"
            return (32, "fp32") if digital else (self.params.dac.bits, "analog")
        return 32, "fp32"

    def activity(self, x):
        a, self._activity = self._activity, None
        return 1.0 if a is None else a

    def layer_tiles(self, layer) -> int:
        """Tiles one layer occupies: its weight columns times ``weight_slices`` (one column per
        slice) over tile columns, its inputs over tile rows, times its arrays (Tiki-Taka and
        one-sided pairs hold two)."""
        t = self.params.tile
        k, n = self.shapes[layer]
        arrays = getattr(self.rules.get(layer), "arrays", 1)
        return arrays * math.ceil(k / t.rows) * math.ceil(n * t.weight_slices / t.cols)

    def tiles_needed(self) -> int:
        return sum(self.layer_tiles(layer) for layer in self.shapes)

    def _charge_reprogramming(self, layer, phase):
        """A model larger than the chip reprograms a layer's tiles before each use. A layer that
        alone exceeds the chip is charged by the cost kernel (it prices every product whose
        tiles exceed ``tiles_on_chip`` with the reprogramming of all its tiles), not here."""
        key = ("fits", len(self.shapes))  # the layers placed so far fix the answer
        fits = self._layer_cache.get(key)
        if fits is None:
            fits = self._layer_cache[key] = self.tiles_needed() <= self.params.tile.tiles_on_chip
        if fits:
            return
        if self.layer_tiles(layer) <= self.params.tile.tiles_on_chip:
            k, n = self.shapes[layer]
            self.trace.add(phase, layer, "write", 1, n, k, self.params.dac.bits, "analog")

    # -- the analog read pipeline ----------------------------------------------------------------

    def analog_mvm(self, x, wn, gain, rows, per=None, input_range=None):
        """x (m,k) through DAC -> tiles of ``rows`` inputs -> noise -> ADC -> digital sum, with
        the periphery ``per`` (forward tables by default).

        With ``adc.bound_management = iterative``, input vectors whose outputs saturate the ADC
        are read again with the DAC range halved (outputs halve, the digital scale doubles), up
        to ``MAX_BOUND_ITERATIONS`` times; ``self._rereads`` counts those extra reads. With a
        learned ``input_range`` r, inputs are clipped to +-r and scaled by 1/r instead of
        dynamic scaling."""
        per = per or periphery(self.params)
        x = np.ascontiguousarray(x, np.float32)
        if per.perfect:
            return (x @ wn) * gain
        dynamic = per.dac.dynamic_scaling
        if input_range is not None:
            x = np.clip(x, -input_range, input_range) * np.float32(1.0 / input_range)
            dynamic = False
        out, sat = self._analog_read(x, wn, gain, rows, per, per.dac.input_bound, dynamic)
        if sat is not None and sat.max(initial=0):
            bound = per.dac.input_bound
            for _ in range(MAX_BOUND_ITERATIONS):
                idx = np.flatnonzero(sat)
                if idx.size == 0:
                    break
                bound *= 0.5
                self._rereads += idx.size
                out[idx], sat_i = self._analog_read(x[idx], wn, gain, rows, per, bound, dynamic)
                sat = np.zeros_like(sat)
                sat[idx] = sat_i
        if input_range is not None:
            out *= np.float32(input_range)
        return out

    def _analog_read(self, x, wn, gain, rows, per, input_bound, dynamic):
        """One read of every vector of x (the ``read`` kernel: DAC, tile products, read noise,
        ADC, digital sum); also which vectors saturated an ADC (None unless iterative bound
        management needs it)."""
        m = x.shape[0]
        out = np.empty((m, wn.shape[1]), np.float32)
        sat = np.empty(m, np.uint8)
        (dac_bits, dac_on, adc_on, adc_bits, adc_bound, out_noise, w_noise,
         iterative) = self._read_settings(per)
        self.kernels.read(x, wn, gain, rows, dac_bits, input_bound, dynamic, dac_on, adc_on,
                          adc_bits, adc_bound, out_noise, w_noise, self._stream_key(), out, sat)
        return out, (sat if iterative else None)  # 1 where saturated

    def _read_settings(self, per):
        """The ``read`` kernel's settings from periphery ``per`` (DAC bits and on, ADC on, bits
        and bound, output and weight noise), and whether iterative bound management applies;
        kept per periphery object."""
        cached = self._read_cache.get(id(per))
        if cached is None or cached[0] is not per:
            nz = per.noise
            iterative = per.adc.bound_management == "iterative" and per.adc.enabled
            cached = (per, (per.dac.bits, per.dac.enabled, per.adc.enabled, per.adc.bits,
                            per.adc.output_bound, nz.out_noise_std, nz.w_noise_std, iterative))
            if len(self._read_cache) >= READ_CACHE_SIZE:  # callers' own peripheries: bounded
                self._read_cache.clear()
            self._read_cache[id(per)] = cached
        return cached[1]

    def _stream_key(self):
        """The key of a fresh counter-based stream (``xpusim.numerics.gauss``): the next of a
        block of draws of the device's Generator, so the run's seed fixes every number drawn
        from it."""
        if self._key_pos >= len(self._key_block):
            self._key_block = self.rng.integers(0, 1 << 63, size=KEY_BLOCK).astype(np.uint64)
            self._key_pos = 0
        self._key_pos += 1
        return self._key_block[self._key_pos - 1]

    def _keys(self):
        """Six stream keys for one pulsed update (trains, cycle-to-cycle, write noise,
        transfer read noise, chopper draws, leakage)."""
        if self._key_pos + 6 > len(self._key_block):
            self._key_pos = len(self._key_block)
            self._stream_key()
            self._key_pos = 0
        self._key_pos += 6
        return self._key_block[self._key_pos - 6:self._key_pos]

    def _weights_for(self, layer, phase):
        """(normalised weights as conductance differences (k x S n, the S bit slices side by
        side), per-column digital gain (S n), S)."""
        if self.mode == "hardware-aware":
            lp = self.lp(layer)
            if phase.startswith("train"):
                cached = self._step_weights.get(layer)
                if phase != "train-forward" and cached is not None:
                    return cached
                w = self.master[layer]
                scale = programmed.column_scale(w, lp.mapping.weight_scaling).astype(np.float32)
                wn = (w / scale).astype(np.float32)
                if phase == "train-forward":
                    wn = hwa.modify(lp.modifier, wn, self.rng, self.kernels)
                    if lp.hwa_noise_scale > 0:
                        wn = programmed.hwa_noise(lp, wn, self.rng, self.kernels)
                out = (np.ascontiguousarray(wn, np.float32), scale, 1)
                if phase == "train-forward":
                    self._step_weights[layer] = out
                return out
            if layer in self.dirty or layer not in self.read:
                self.prog[layer] = programmed.program(lp, self.master[layer], self.rng,
                                                      self.kernels)
                self.read[layer] = programmed.read_state(lp, self.prog[layer], self.rng,
                                                         self.kernels)
                self.dirty.discard(layer)
            wn, gain, n_slices = self.read[layer]
            if lp.modifier.enable_during_test and n_slices == 1:
                wn = hwa.modify(lp.modifier, wn, self.rng, self.kernels)
            return wn, gain, n_slices
        rule = self.rules[layer]
        if rule.read_cache is None:  # float32 weights and unit gains, until the next update
            wn = np.ascontiguousarray(rule.weights(), np.float32)
            rule.read_cache = (wn, self._unit_gain(wn.shape[1]), 1)
        return rule.read_cache

    def _unit_gain(self, n):
        """A float32 vector of n ones, shared (read-only: nothing writes gains in place)."""
        key = ("unit gain", n)
        ones = self._layer_cache.get(key)
        if ones is None:
            ones = self._layer_cache[key] = np.ones(n, np.float32)
            ones.flags.writeable = False
        return ones

    def _input_range(self, layer, x, phase):
        """The learned input range of ``layer`` (None when off); initialised from the data of
        the first training batches."""
        if self.mode != "hardware-aware":
            return None
        ir = self.lp(layer).input_range
        if not ir.enabled:
            return None
        state = self.ranges.setdefault(layer, hwa.InputRangeState(ir.init_value))
        if phase == "train-forward":
            state.observe(ir, x)
        return state.value

    # -- Device hooks ----------------------------------------------------------------------------

    def _write(self, layer, w):
        self._step_weights.pop(layer, None)
        if self.mode == "hardware-aware":
            self.master[layer] = w.copy()
            self.dirty.add(layer)
            return
        lp = self.lp(layer)
        shape = w.shape
        stuck = lp.noise.stuck_fraction
        if self.mode == "hybrid":
            rule = insitu.HybridRule(lp.pulsed, shape, self.rng, stuck)
        elif lp.pulsed.one_sided.enabled:
            rule = insitu.OneSidedRule(lp.pulsed, periphery(lp, "forward"), shape, self.rng,
                                       stuck)
        elif lp.transfer.algorithm != "none":
            fast = insitu.fast_device(lp)
            rule = insitu.TransferRule(lp.transfer, fast, lp.pulsed, self.periph(layer,
                                       "transfer"), shape, self.rng, stuck)
        else:
            rule = insitu.PlainRule(lp.pulsed, shape, self.rng, stuck)
        rule.set_weights(w)
        self.rules[layer] = rule

    def _read(self, layer):
        if self.mode == "hardware-aware":
            return self.master[layer].copy()
        return self.rules[layer].weights().astype(np.float32)

    def _mvm(self, layer, x, phase):
        self._charge_reprogramming(layer, phase)
        wn, gain, n_slices = self._weights_for(layer, phase)
        r = self._input_range(layer, x, phase)
        if r is not None and phase == "train-forward":
            self.ranges[layer].last_x = x
        y = self.analog_mvm(x, wn, gain, self.params.tile.rows, self.periph(layer, "forward"), r)
        self._record_rereads(layer, phase, "mvm", *self.shapes[layer])
        rule = self.rules.get(layer)
        if getattr(rule, "reads_two", False):  # gamma A + C: both arrays are read
            k, n = self.shapes[layer]
            self.trace.add(phase, layer, "mvm", x.shape[0], n, k, self.params.dac.bits, "analog")
        if n_slices > 1:  # each slice has its own ADCs; shift-and-add in the digital periphery
            y = y.reshape(y.shape[0], n_slices, -1).sum(axis=1)
        return y

    def _mvm_t(self, layer, e, phase):
        """Columns driven, rows read (backward periphery): slices' columns are driven with their
        significance."""
        self._charge_reprogramming(layer, phase)
        wn, gain, n_slices = self._weights_for(layer, phase)
        if n_slices > 1:
            e = np.tile(e, n_slices)
        key = ("transposed", layer)
        cached = self._layer_cache.get(key)
        if cached is None or cached[0] is not wn:  # the transposed copy of these weights
            cached = (wn, np.ascontiguousarray(wn.T))
            self._layer_cache[key] = cached
        if gain is not self._unit_gain(gain.size):  # (e times unit gains is e)
            e = e * gain[None, :]
        out = self.analog_mvm(e, cached[1], self._unit_gain(wn.shape[0]), self.params.tile.cols,
                              self.periph(layer, "backward"))
        k, n = self.shapes[layer]
        self._record_rereads(layer, phase, "mvm_t", n, k)
        state = self.ranges.get(layer)
        if state is not None and phase == "train-backward" and state.last_x is not None:
            state.gradient(self.lp(layer).input_range, out)
        return out

    def _record_rereads(self, layer, phase, primitive, k, n):
        """Price the vectors that iterative bound management read again (k inputs, n outputs)."""
        if self._rereads:
            bits, fmt = self.operand_format(primitive, phase)
            self.trace.add(phase, layer, primitive, self._rereads, n, k, bits, fmt)
            self._rereads = 0

    def _update(self, layer, pre, post, lr, decay, phase):
        lp = self.lp(layer)
        if self.mode == "hardware-aware":
            self._learn_input_range(layer, post, lr, phase)
            self._step_weights.pop(layer, None)
            w = self.master[layer]
            d = pre.T @ post
            if decay is not None:
                d = d - w * decay[None, :]
            w = w + self.optimizer.step(layer, d.astype(np.float32), lr)
            self.master[layer] = hwa.clip(lp.clip, w)
            self.dirty.add(layer)
            self.record_optimizer(layer, w.size, phase)
            return
        self._step_weights.pop(layer, None)
        t = self.updates.get(layer, 0)
        self.updates[layer] = t + 1
        lr = lr * lp.lr_schedule.factor_at(t)
        rule = self.rules[layer]
        rule.read_cache = None
        k, n = self.shapes[layer]
        m = pre.shape[0]
        if self.mode == "hybrid":
            d = pre.T @ post
            if decay is not None:
                d = d - rule.weights().astype(np.float32) * decay[None, :]
            work = rule.apply(self.kernels, self.optimizer.step(layer, d.astype(np.float32), lr),
                              self._keys())
            self.record_optimizer(layer, k * n, phase)
            bits = max(1, math.ceil(work.slots / max(m, 1)))
        else:
            work = rule.update(self.kernels, pre, post, lr, self._keys())
            bits = max(1, math.ceil(work.slots / max(m, 1)))
            self._record_transfers(layer, phase, work, n)
        self._row_bits = bits
        self._activity = float(work.pulses / max(m * bits * k * n, 1))

    def _record_transfers(self, layer, phase, work, n):
        """Price a Tiki-Taka transfer: one-hot reads of A (one driven row, n ADC conversions
        each), pulsed writes of C (one row each), and the digital buffer's element updates."""
        if work.transfer_reads:
            self.trace.add(phase, layer, "mvm", int(work.transfer_reads), n, 1,
                           self.params.dac.bits, "analog")
        if work.transfer_m:
            bits = max(1, math.ceil(work.transfer_slots / work.transfer_m))
            self.trace.add(phase, layer, "update", work.transfer_m, n, 1, bits, "analog",
                           activity=work.transfer_pulses / (work.transfer_m * bits * n))
        if work.buffer_ops:
            self.record_elementwise(phase, layer, int(work.buffer_ops), 3, 2)
        if work.refresh_reads:
            self.trace.add(phase, layer, "mvm", int(work.refresh_reads), n, 1,
                           self.params.dac.bits, "analog")

    def _learn_input_range(self, layer, post, lr, phase):
        """Gradient step of a learned input range (aihwkit InputRangeForward): the gradient
        comes from the backward read of this layer through the step's weights (read here, and
        priced, when no method asked for one, e.g. for the first layer)."""
        state = self.ranges.get(layer)
        ir = self.lp(layer).input_range
        if state is None or not ir.learn or state.last_x is None:
            return
        if state.grad is None:
            self._mvm_t(layer, -post, "train-backward")
            k, n = self.shapes[layer]
            bits, fmt = self.operand_format("mvm_t", phase)
            self.trace.add(phase, layer, "mvm_t", post.shape[0], k, n, bits, fmt)
        state.step(self.optimizer, ("input_range", layer), lr)
        self.record_elementwise(phase, layer, 1, self.optimizer.arrays_per_element,
                                self.optimizer.ops_per_element)

    def finalize_training(self):
        if self.mode != "hardware-aware":
            return
        for layer, w in self.master.items():
            self.prog[layer] = programmed.program(self.lp(layer), w, self.rng, self.kernels)
            self.dirty.discard(layer)
            k, n = w.shape
            bits, fmt = self.operand_format("write", "deploy")
            self.trace.add("deploy", layer, "write", 1, n, k, bits, fmt)

    def prepare_inference(self):
        if self.mode != "hardware-aware":
            return
        for layer, w in self.master.items():
            lp = self.lp(layer)
            if layer in self.dirty or layer not in self.prog:
                self.prog[layer] = programmed.program(lp, w, self.rng, self.kernels)
                self.dirty.discard(layer)
            self.read[layer] = programmed.read_state(lp, self.prog[layer], self.rng, self.kernels)
