"""Event-driven cost of a spiking chip: pay per spike, per synaptic op, per update, per step.

Per trace row (× count), with S = timesteps per sample (1 for graded spikes), a = the row's
``activity`` (input events per input element per timestep) and cores(n) = the cores holding
n output neurons:
- mvm: input events E = a·m·k·S; synaptic ops = E·n; neuron updates = m·n·S; each event is
  routed once to each core holding targets. Time: the busiest core's synaptic ops and neuron
  updates plus one barrier per timestep per sample.
  A convolution (a row with ``samples``) runs every output position of a sample in the same
  timesteps: its m rows are samples x positions, its neurons positions x n per sample (the
  cores they need), its barriers one per timestep per sample. Its patches see an input spike
  once per window that covers it, so E and the synaptic ops are spikes x kernel fan-out; the
  routing counts a spike once per window too (an upper bound: a router may merge them).
- update: the learning engine updates the synapses of active inputs, once per sample:
  a·m·k·n updates.
- elementwise/reduce: neuron (compartment) updates, m·k.
- write: loading k·n synapses, priced as synapse updates.
- mvm_t: no transposed read of trained synapses on this chip: unpriceable (-1).
Static power × time is added by the core.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from xpusim.core.kernels import COST_FASTMATH
from xpusim.core.trace import PRIMITIVE

from .costmodel import COMPONENTS, COST_PARAMS, EXTRAS, capabilities  # noqa: F401

(STEPS, E_SYNOP, E_UPDATE, E_NEURON, E_ROUTE, T_SYNOP, T_UPDATE, T_NEURON, T_SYNC, CORES,
 PER_CORE) = COST_PARAMS.indices
N_PARAMS = len(COST_PARAMS)
pack = COST_PARAMS.pack
"""The spec's numbers in the order ``price`` reads them."""

P_MVM, P_UPDATE, P_WRITE = PRIMITIVE["mvm"], PRIMITIVE["update"], PRIMITIVE["write"]
P_ELEMENTWISE, P_REDUCE = PRIMITIVE["elementwise"], PRIMITIVE["reduce"]


@njit(cache=True, parallel=True, fastmath=COST_FASTMATH)
def price(phase, primitive, m, n, k, bits, fmt, count, activity, samples, inputs, params,
          time_s, energy_j, extras):
    """Price every row (see module docstring); time -1 marks an unpriceable row.

    ``cores_used`` is a ceiling of a quotient: ``COST_FASTMATH`` has no ``arcp``, which would
    count 8 cores for 525 neurons at 75 per core.
    """
    for i in prange(phase.size):
        prim = primitive[i]
        reps = float(count[i])
        mm, nn, kk = float(m[i]), float(n[i]), float(k[i])
        a = activity[i]
        per = float(samples[i]) if samples[i] > 0 else mm  # samples of the row
        positions = mm / per if per > 0.0 else 1.0           # output positions per sample
        cores_used = min(params[CORES], max(1.0, math.ceil(positions * nn / params[PER_CORE])))
        if prim == P_MVM:
            steps = params[STEPS]
            events = a * mm * kk * steps
            synops = events * nn
            neurons = mm * nn * steps
            messages = events * cores_used
            t = (max(synops * params[T_SYNOP], neurons * params[T_NEURON]) / cores_used
                 + per * steps * params[T_SYNC])
            time_s[i] = t * reps
            energy_j[i, 0] = synops * params[E_SYNOP] * reps
            energy_j[i, 2] = neurons * params[E_NEURON] * reps
            energy_j[i, 3] = messages * params[E_ROUTE] * reps
            extras[i, 0] = events * reps
            extras[i, 1] = synops * reps
            extras[i, 3] = neurons * reps
            extras[i, 4] = messages * reps
            extras[i, 5] = per * steps * reps
        elif prim == P_UPDATE:
            updates = a * mm * kk * nn
            time_s[i] = updates * params[T_UPDATE] / cores_used * reps
            energy_j[i, 1] = updates * params[E_UPDATE] * reps
            extras[i, 2] = updates * reps
        elif prim == P_ELEMENTWISE or prim == P_REDUCE:
            neurons = mm * kk
            time_s[i] = neurons * params[T_NEURON] / params[CORES] * reps
            energy_j[i, 2] = neurons * params[E_NEURON] * reps
            extras[i, 3] = neurons * reps
        elif prim == P_WRITE:
            synapses = mm * nn * kk
            time_s[i] = synapses * params[T_UPDATE] / cores_used * reps
            energy_j[i, 1] = synapses * params[E_UPDATE] * reps
            extras[i, 2] = synapses * reps
        else:
            time_s[i] = -1.0

