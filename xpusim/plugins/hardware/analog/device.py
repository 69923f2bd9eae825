"""Analog runtime: weights as conductance pairs on crossbar tiles (PCM physics) or as pulsed
devices (in-situ / hybrid training), read through DACs and ADCs.

Modes (``training_mode``):
* ``hardware-aware``: fp32 master weights and the digital optimizer; the training forward pass
  runs through the analog model with programming noise injected per batch; weights are
  programmed once (program-and-verify) in ``finalize_training`` (``deploy`` write rows).
* ``in-situ``: the update is stochastic coincident pulse trains (BL slots, update management)
  applied to pulsed devices (constant-step or soft-bounds); the digital optimizer is not used.
* ``hybrid``: the optimizer's step accumulates digitally (chi); whole device steps are
  transferred as pulses when |chi| exceeds dw_min (Nandakumar et al. 2020 mixed precision).
"""

from __future__ import annotations

import math

import numpy as np

from xpusim.core import Device


# REFERENCES E8-E10 (aihwkit PCMLikeNoiseModel)
PROG_C = (0.26348, 1.965, -1.1731)
PROG_G_REF_US = 25.0
MAX_BOUND_ITERATIONS = 10


class AnalogDevice(Device):
    """Crossbar tiles with DAC/ADC periphery (see module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        p = self.params
        self.mode = p.training_mode
        self.master: dict[int, np.ndarray] = {}   # hardware-aware: fp32 master weights
        self.dirty: set[int] = set()
        self.prog: dict[int, dict[str, np.ndarray]] = {}  # programmed PCM state
        self.read: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # (Wn, col_gain) at t
        self.w: dict[int, np.ndarray] = {}        # in-situ/hybrid device weights
        self.dev: dict[int, dict[str, np.ndarray]] = {}
        self.chi: dict[int, np.ndarray] = {}
        self._activity: float | None = None
        self._rereads = 0   # extra reads of iterative bound management, priced as mvm rows
        self.activation_bits = p.dac.bits

    # -- formats and capacity --------------------------------------------------------------------

    def operand_format(self, primitive, phase):
        if primitive in ("mvm", "mvm_t"):
            return self.params.dac.bits, "analog"
        if primitive == "update":
            return (32, "fp32") if self.mode == "hardware-aware" else (self.params.dac.bits,
                                                                        "analog")
        if primitive == "write":
            digital = self.mode == "hardware-aware" and phase != "deploy"
            return (32, "fp32") if digital else (self.params.dac.bits, "analog")
        return 32, "fp32"

    def activity(self, x):
        a, self._activity = self._activity, None
        return 1.0 if a is None else a

    def layer_tiles(self, layer) -> int:
        """Tiles one layer occupies: its weight columns times ``weight_slices`` (one column per
        slice) over tile columns, its inputs over tile rows."""
        t = self.params.tile
        k, n = self.shapes[layer]
        return math.ceil(k / t.rows) * math.ceil(n * t.weight_slices / t.cols)

    def tiles_needed(self) -> int:
        return sum(self.layer_tiles(layer) for layer in self.shapes)

    def _charge_reprogramming(self, layer, phase):
        """A model larger than the chip reprograms a layer's tiles before each use. A layer that
        alone exceeds the chip is charged by the cost kernel (it prices every product whose
        tiles exceed ``tiles_on_chip`` with the reprogramming of all its tiles), not here."""
        chip = self.params.tile.tiles_on_chip
        if self.tiles_needed() > chip and self.layer_tiles(layer) <= chip:
            k, n = self.shapes[layer]
            self.trace.add(phase, layer, "write", 1, n, k, self.params.dac.bits, "analog")

    # -- PCM programming, drift, read noise ------------------------------------------------------

    def _program(self, layer, w):
        """Program-and-verify ``w`` (k x n) as conductance pairs with per-column scale.

        Bit-slicing (``tile.weight_slices`` = S > 1): slice s has significance f_s = B^-s
        (B = ``tile.slice_significance``); slice 0 is programmed to the normalised weight, each
        next slice to the error left by the slices already programmed (verified), times 1/f_s and
        clipped to [-1, 1]: the lower-significance devices correct the programming noise of the
        higher ones. Every slice gets its own programming noise, drift exponents and stuck
        devices (REFERENCES E8, E9)."""
        p = self.params
        rng = self.rng
        n_slices = p.tile.weight_slices
        f = p.tile.slice_significance ** -np.arange(n_slices, dtype=np.float64)
        scale = np.abs(w).max(axis=0).astype(np.float64)
        scale[scale == 0] = 1.0
        wn = w / scale
        acc = np.zeros(w.shape)
        state = {"scale": scale, "f": f, "gp": [], "gm": [], "nu_p": [], "nu_m": []}
        for s in range(n_slices):
            target = np.clip((wn - acc) / f[s], -1.0, 1.0)
            for name, g in (("gp", np.maximum(target, 0.0)), ("gm", np.maximum(-target, 0.0))):
                sig = (PROG_C[0] + PROG_C[1] * g + PROG_C[2] * g * g) / PROG_G_REF_US
                g_prog = np.maximum(g + p.pcm.prog_noise_scale * sig * rng.standard_normal(g.shape),
                                    0)
                gr = np.maximum(g, 1e-7)
                mu = np.clip(-0.0155 * np.log(gr) + 0.0244, 0.049, 0.1)
                sd = np.clip(-0.0125 * np.log(gr) - 0.0059, 0.008, 0.045)
                nu = np.abs(mu + sd * rng.standard_normal(g.shape)) * p.pcm.drift_scale
                if p.noise.stuck_fraction > 0:
                    u = rng.random(g.shape)
                    g_prog = np.where(u < p.noise.stuck_fraction / 2, 0.0, g_prog)
                    g_prog = np.where((u >= p.noise.stuck_fraction / 2)
                                      & (u < p.noise.stuck_fraction), 1.0, g_prog)
                state[name].append(g_prog)
                state["nu_" + name[1]].append(nu)
            acc += f[s] * (state["gp"][s] - state["gm"][s])
        ir = self._ir(w.shape[0], w.shape[1] * n_slices).reshape(-1, n_slices, w.shape[1])
        state["ref"] = self._reference(sum(f[s] * (state["gp"][s] - state["gm"][s]) * ir[:, s]
                                           for s in range(n_slices)))
        self.prog[layer] = state

    def _reference(self, wn):
        """Drift-compensation readout: mean |weight| per column (aihwkit reads it with one-hot
        inputs, REFERENCES E12 era GlobalDriftCompensation; global: the mean over columns)."""
        return np.abs(wn).mean(axis=0) + 1e-12

    def _ir(self, k, n):
        """First-order IR drop: a cell's read current falls linearly with its distance along the
        row wire from the driver, to 1 - ir_drop at the tile's last column."""
        t = self.params.tile
        if t.ir_drop == 0:
            return np.ones((1, n))
        pos = (np.arange(n) % t.cols + 1) / t.cols
        return 1.0 - t.ir_drop * pos[None, :]

    def _read_state(self, layer):
        """Weights as read at ``inference_time_s`` after programming: drift
        G(t) = G_prog ((t + t0)/t0)^-nu, then 1/f read noise of std
        |G(t)| Q_s(G_prog) sqrt(ln((t + t0 + t_read)/(2 t_read))), clipped at 0 (REFERENCES
        E9, E10; aihwkit PCMLikeNoiseModel.apply_drift_noise_to_conductance)."""
        p = self.params
        s = self.prog[layer]
        tt = p.inference_time_s + p.pcm.t0_s
        n_slices = len(s["f"])
        sig_t = math.sqrt(math.log((tt + p.pcm.t_read_s) / (2 * p.pcm.t_read_s)))
        parts = []
        for sl in range(n_slices):
            g = {}
            for name in ("gp", "gm"):
                gp = s[name][sl]
                gd = gp * (tt / p.pcm.t0_s) ** (-s["nu_" + name[1]][sl])
                q = np.minimum(0.0088 / np.maximum(np.abs(gp) ** 0.65, 1e-3), 0.2)
                g[name] = np.maximum(gd + np.abs(gd) * p.pcm.read_noise_scale * q * sig_t
                                     * self.rng.standard_normal(gd.shape), 0.0)
            parts.append(g["gp"] - g["gm"])
        k, n = parts[0].shape
        wn = np.concatenate(parts, axis=1) * self._ir(k, n * n_slices)
        f = s["f"]
        gain = s["scale"].copy()
        if p.drift_compensation != "none":
            eff = sum(f[sl] * wn[:, sl * n:(sl + 1) * n] for sl in range(n_slices))
            ref = self._reference(eff)
            if p.drift_compensation == "global":
                gain *= s["ref"].mean() / ref.mean()
            else:
                gain *= s["ref"] / ref
        gain = np.concatenate([gain * f[sl] for sl in range(n_slices)])
        self.read[layer] = (np.ascontiguousarray(wn, np.float32), gain.astype(np.float32),
                            n_slices)

    # -- the analog read pipeline ----------------------------------------------------------------

    def analog_mvm(self, x, wn, gain, rows):
        """x (m,k) through DAC -> tiles of ``rows`` inputs -> noise -> ADC -> digital sum.

        With ``adc.bound_management = iterative``, input vectors whose outputs saturate the ADC
        are read again with the DAC range halved (outputs halve, the digital scale doubles), up
        to ``MAX_BOUND_ITERATIONS`` times; ``self._rereads`` counts those extra reads."""
        p = self.params
        x = np.ascontiguousarray(x, np.float32)
        out, sat = self._analog_read(x, wn, gain, rows, p.dac.input_bound)
        if p.adc.bound_management == "iterative" and p.adc.enabled:
            bound = p.dac.input_bound
            for _ in range(MAX_BOUND_ITERATIONS):
                idx = np.flatnonzero(sat)
                if idx.size == 0:
                    break
                bound *= 0.5
                self._rereads += idx.size
                out[idx], sat_i = self._analog_read(x[idx], wn, gain, rows, bound)
                sat = np.zeros_like(sat)
                sat[idx] = sat_i
        return out

    def _analog_read(self, x, wn, gain, rows, input_bound):
        """One read of every vector of x; also which vectors saturated an ADC."""
        p = self.params
        m, k = x.shape
        n = wn.shape[1]
        t_count = max(1, math.ceil(k / rows))
        xq = np.empty_like(x)
        scale = np.empty((t_count, m), np.float32)
        norm = np.empty((t_count, m), np.float32)
        self.kernels.dac(x, rows, p.dac.bits, input_bound, p.dac.dynamic_scaling, p.dac.enabled,
                         xq, scale, norm)
        z, std, noisy = self._read_noise(norm, (m, t_count, n))  # before BLAS runs
        partial = np.empty((t_count, m, n), np.float32)
        for t in range(t_count):
            np.matmul(xq[:, t * rows:(t + 1) * rows], wn[t * rows:(t + 1) * rows], out=partial[t])
        out = np.empty((m, n), np.float32)
        sat = np.empty(m, np.uint8)
        self.kernels.periphery(partial, z, std, scale, np.ascontiguousarray(gain, np.float32),
                               p.adc.enabled, p.adc.bits, p.adc.output_bound, noisy, out, sat)
        if p.adc.bound_management == "iterative" and p.adc.enabled:
            return out, sat.astype(bool)
        return out, None

    def _read_noise(self, norm, shape):
        """(standard normals (m, T, n), their std per tile read (T, m), whether there is any)
        of the read noise: output noise and per-read conductance noise, std
        sqrt(out_noise^2 + (w_noise ||x_q||)^2). The normals come from a counter-based stream
        (``xpusim.numerics.gauss``) keyed by one draw of the device's Generator; drawn before
        the tile products so that no BLAS thread competes with them."""
        p = self.params
        std = np.sqrt(np.float32(p.noise.out_noise_std) ** 2
                      + (np.float32(p.noise.w_noise_std) * norm) ** 2).astype(np.float32)
        noisy = p.noise.out_noise_std > 0 or p.noise.w_noise_std > 0
        if not noisy:
            return np.empty((0, 0, 0), np.float32), std, False
        z = np.empty(shape, np.float32)
        self.kernels.normals(self._stream_key(), z)
        return z, std, True

    def _stream_key(self):
        """The key of a fresh counter-based stream (``xpusim.numerics.gauss``): one draw of the
        device's Generator, so the run's seed fixes every number drawn from it."""
        return np.uint64(self.rng.integers(0, 1 << 63))

    def _weights_for(self, layer, phase):
        """(normalised weights as conductance differences (k x S n, the S bit slices side by
        side), per-column digital gain (S n), S)."""
        if self.mode == "hardware-aware":
            if phase.startswith("train"):
                w = self.master[layer]
                scale = np.abs(w).max(axis=0)
                scale[scale == 0] = 1.0
                wn = w / scale
                if self.params.hwa_noise_scale > 0 and phase == "train-forward":
                    a = np.abs(wn)
                    sig = (PROG_C[0] + PROG_C[1] * a + PROG_C[2] * a * a) / PROG_G_REF_US
                    wn = wn + self.params.hwa_noise_scale * sig * self.rng.standard_normal(
                        wn.shape, dtype=np.float32)
                return np.ascontiguousarray(wn, np.float32), scale.astype(np.float32), 1
            if layer in self.dirty or layer not in self.read:
                self._program(layer, self.master[layer])
                self._read_state(layer)
                self.dirty.discard(layer)
            return self.read[layer]
        w_max = self.params.pulsed.w_max
        wn = self.w[layer] / np.float32(w_max)
        return wn, np.full(wn.shape[1], w_max, np.float32), 1

    # -- Device hooks ----------------------------------------------------------------------------

    def _write(self, layer, w):
        if self.mode == "hardware-aware":
            self.master[layer] = w.copy()
            self.dirty.add(layer)
            return
        pu = self.params.pulsed
        rng = self.rng
        shape = w.shape
        # aihwkit PulsedRPUDevice::populate (rpu_pulsed_device.cpp): gain 1 + dw_min_dtod xi,
        # asymmetry r ~ up_down_dtod xi moves up by +r and down by -r; up_down > 0 shrinks the
        # down steps to (1 - up_down), up_down < 0 the up steps to (1 + up_down)
        gain = 1.0 + pu.dw_min_dtod * rng.standard_normal(shape)
        r = pu.up_down_dtod * rng.standard_normal(shape)
        hi = pu.w_max * np.maximum(1.0 + pu.w_bounds_dtod * rng.standard_normal(shape), 0.1)
        lo = -pu.w_max * np.maximum(1.0 + pu.w_bounds_dtod * rng.standard_normal(shape), 0.1)
        up = pu.dw_min * np.abs(gain + r + min(pu.up_down, 0.0))
        down = pu.dw_min * np.abs(gain - r - max(pu.up_down, 0.0))
        self.dev[layer] = {"up": up, "down": down, "lo": lo, "hi": hi}
        self.w[layer] = np.clip(w, lo, hi).astype(np.float64)
        frac = self.params.noise.stuck_fraction
        if frac > 0:  # stuck devices: half off (weight 0), half on (weight at its upper bound)
            u = rng.random(shape)
            stuck = u < frac
            self.dev[layer]["stuck"] = stuck
            self.dev[layer]["stuck_w"] = np.where(u < frac / 2, 0.0, hi)[stuck]
            self.w[layer][stuck] = self.dev[layer]["stuck_w"]
        self.chi[layer] = np.zeros(shape)

    def _read(self, layer):
        if self.mode == "hardware-aware":
            return self.master[layer].copy()
        return self.w[layer].astype(np.float32)

    def _mvm(self, layer, x, phase):
        self._charge_reprogramming(layer, phase)
        wn, gain, n_slices = self._weights_for(layer, phase)
        y = self.analog_mvm(x, wn, gain, self.params.tile.rows)
        self._record_rereads(layer, phase, "mvm", *self.shapes[layer])
        if n_slices > 1:  # each slice has its own ADCs; shift-and-add in the digital periphery
            y = y.reshape(y.shape[0], n_slices, -1).sum(axis=1)
        return y

    def _mvm_t(self, layer, e, phase):
        """Columns driven, rows read: slices' columns are driven with their significance."""
        self._charge_reprogramming(layer, phase)
        wn, gain, n_slices = self._weights_for(layer, phase)
        if n_slices > 1:
            e = np.tile(e, n_slices)
        out = self.analog_mvm(e * gain[None, :], np.ascontiguousarray(wn.T),
                              np.ones(wn.shape[0], np.float32), self.params.tile.cols)
        k, n = self.shapes[layer]
        self._record_rereads(layer, phase, "mvm_t", n, k)
        return out

    def _record_rereads(self, layer, phase, primitive, k, n):
        """Price the vectors that iterative bound management read again (k inputs, n outputs)."""
        if self._rereads:
            bits, fmt = self.operand_format(primitive, phase)
            self.trace.add(phase, layer, primitive, self._rereads, n, k, bits, fmt)
            self._rereads = 0

    def _update(self, layer, pre, post, lr, decay, phase):
        if self.mode == "hardware-aware":
            w = self.master[layer]
            d = pre.T @ post
            if decay is not None:
                d = d - w * decay[None, :]
            self.master[layer] = w + self.optimizer.step(layer, d.astype(np.float32), lr)
            self.dirty.add(layer)
            self.record_optimizer(layer, w.size, phase)
            return
        if self.mode == "hybrid":
            d = pre.T @ post
            if decay is not None:
                d = d - self.w[layer].astype(np.float32) * decay[None, :]
            chi = self.chi[layer] + self.optimizer.step(layer, d.astype(np.float32), lr)
            steps = np.trunc(chi / self.params.pulsed.dw_min)
            chi -= steps * self.params.pulsed.dw_min
            self.chi[layer] = chi
            self.record_optimizer(layer, chi.size, phase)
            n_up, n_down = np.maximum(steps, 0.0), np.maximum(-steps, 0.0)
            slots = pre.shape[0] * self.params.pulsed.pulse_train_length * chi.size
        else:
            n_up, n_down = self._coincidences(pre, post, lr)
            slots = pre.shape[0] * self.params.pulsed.pulse_train_length * n_up.size
        self._apply_pulses(layer, n_up, n_down)
        self._activity = float((n_up.sum() + n_down.sum()) / max(slots, 1))

    def _coincidences(self, pre, post, lr):
        """Stochastic pulse trains (aihwkit update_bl_management): counts of coincidences."""
        pu = self.params.pulsed
        bl = pu.pulse_train_length
        m, k = pre.shape
        n = post.shape[1]
        x_max = float(np.abs(pre).max()) or 1.0
        d_max = float(np.abs(post).max()) or 1.0
        base = lr / (pu.dw_min * bl)
        a = math.sqrt(base * d_max / x_max)
        b = math.sqrt(base * x_max / d_max)
        px = np.minimum(np.abs(pre) * a, 1.0)
        pd = np.minimum(np.abs(post) * b, 1.0)
        n_up = np.empty((k, n))
        n_down = np.empty((k, n))
        self.kernels.coincidences(px.astype(np.float32), pd.astype(np.float32), np.sign(pre),
                                  np.sign(post), self._stream_key(), self._stream_key(), bl,
                                  n_up, n_down)
        return n_up, n_down

    def _apply_pulses(self, layer, n_up, n_down):
        pu = self.params.pulsed
        dv = self.dev[layer]
        shape = n_up.shape
        c2c = np.empty((2, *shape), np.float32)  # cycle-to-cycle spread: up, down
        self.kernels.normals(self._stream_key(), c2c)
        self.kernels.pulse_update(self.w[layer], n_up, n_down, dv["up"], dv["down"], dv["lo"],
                                  dv["hi"], c2c[0], c2c[1], pu.dw_min_std,
                                  pu.model == "soft-bounds")
        if "stuck" in dv:
            self.w[layer][dv["stuck"]] = dv["stuck_w"]

    def finalize_training(self):
        if self.mode != "hardware-aware":
            return
        for layer, w in self.master.items():
            self._program(layer, w)
            self.dirty.discard(layer)
            k, n = w.shape
            bits, fmt = self.operand_format("write", "deploy")
            self.trace.add("deploy", layer, "write", 1, n, k, bits, fmt)

    def prepare_inference(self):
        if self.mode != "hardware-aware":
            return
        for layer, w in self.master.items():
            if layer in self.dirty or layer not in self.prog:
                self._program(layer, w)
                self.dirty.discard(layer)
            self._read_state(layer)
