"""Counter-based standard normals: draw i of stream ``key`` depends on (key, i) only.

Read noise is the largest random draw of a simulation (one normal per tile read and output:
a million per 1024x1024 analog MVM at batch 256). NumPy's Generator draws it serially; a
counter-based generator draws it in parallel with the same numbers whatever the thread count,
and a NumPy twin can recompute any draw independently. The device takes each ``key`` from
its seeded Generator, so one seed still fixes every number of a run.

* Bits: SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
  OOPSLA 2014): word i of stream key is mix(key + (i + 1) * 0x9E3779B97F4A7C15), with the
  finalizer constants of that paper. SplitMix64 passes BigCrush.
* Normals: the ziggurat method of G. Marsaglia and W. W. Tsang, "The Ziggurat Method for
  Generating Random Variables", J. Stat. Softw. 5(8), 2000, with 256 layers in double
  precision (r = 3.6541528853610088, v = 0.00492867323399 from that paper). A 64-bit word
  gives the layer (8 bits), the sign (1 bit) and a 52-bit magnitude. About 99 % of draws are
  accepted at once. The rest (wedge tests, new attempts after a rejection, and the tail beyond
  r by Marsaglia's 1964 method) take further words from a second SplitMix64 stream seeded by
  the first word: how many varies, but draw i still depends on (key, i) only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
SALT = np.uint64(0xD1B54A32D192ED03)  # seeds the second (slow-path) stream from a draw's word
R = 3.6541528853610088   # Marsaglia & Tsang 2000: start of the tail, 256 layers
V = 0.00492867323399     # Marsaglia & Tsang 2000: area of each layer
M52 = 2.0 ** 52
MASK52 = np.uint64(0x000FFFFFFFFFFFFF)


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ziggurat tables (Marsaglia & Tsang 2000, section 2): k (uint64 acceptance thresholds on
    the 52-bit magnitude), w (magnitude -> x scale), f (density at each layer edge)."""
    k = np.zeros(256, np.uint64)
    w = np.zeros(256)
    f = np.zeros(256)
    dn = tn = R
    q = V / math.exp(-0.5 * dn * dn)
    k[0] = np.uint64(int(dn / q * M52))
    k[1] = 0
    w[0] = q / M52
    w[255] = dn / M52
    f[0] = 1.0
    f[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(V / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = np.uint64(int(dn / tn * M52))
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / M52
    return k, w, f


KI, WI, FI = _tables()


@njit(cache=True, inline="always")
def mix(z):
    """SplitMix64 finalizer of one 64-bit state."""
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _uniform(seed, j):
    """Uniform in [0, 1) with 53 random bits: word j of the slow-path stream ``seed``."""
    return float(mix(seed + np.uint64(j + 1) * GOLDEN) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def normal(key, i, ki, wi, fi):
    """Standard normal number i of stream ``key`` (uint64s); tables from ``_tables``."""
    r = mix(key + (i + np.uint64(1)) * GOLDEN)
    seed = mix(r ^ SALT)
    j = 0  # next word of the slow-path stream
    while True:
        idx = r & np.uint64(0xFF)
        sign = (r >> np.uint64(8)) & np.uint64(1)
        rabs = (r >> np.uint64(9)) & MASK52
        x = float(rabs) * wi[idx]
        if sign:
            x = -x
        if rabs < ki[idx]:
            return x
        if idx == 0:  # the tail beyond R (Marsaglia 1964)
            while True:
                xx = -math.log1p(-_uniform(seed, j)) / R
                yy = -math.log1p(-_uniform(seed, j + 1))
                j += 2
                if yy + yy > xx * xx:
                    return -(R + xx) if sign else R + xx
        if (fi[idx - 1] - fi[idx]) * _uniform(seed, j) + fi[idx] < math.exp(-0.5 * x * x):
            return x
        r = mix(seed + np.uint64(j + 2) * GOLDEN)  # rejected: a whole new attempt
        j += 2


def _fill(key, out):
    """out (any shape, float64) = normals 0 .. out.size - 1 of stream ``key``."""
    flat = out.reshape(-1)
    for i in prange(flat.size):
        flat[i] = normal(key, np.uint64(i), KI, WI, FI)


fill_normal = njit(cache=True, parallel=True)(_fill)
fill_normal_serial = njit(cache=True)(_fill)
