"""Counter-based standard normals: draw i of stream ``key`` depends on (key, i) only.

Read noise is the largest random draw of a simulation (one normal per tile read and output:
a million per 1024x1024 analog MVM at batch 256). NumPy's Generator draws it serially (17 ns
a normal on the 2-core machine this was measured on); a counter-based generator draws it in
parallel with the same numbers whatever the thread count, and a NumPy twin
(``xpusim.numerics.reference.fill_normal``) recomputes any draw independently. The device takes
each ``key`` from its seeded Generator, so one seed still fixes every number of a run.

* Bits: SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
  OOPSLA 2014): word w of stream key is mix(key + (w + 1) * 0x9E3779B97F4A7C15), with the
  finalizer constants of that paper. SplitMix64 passes BigCrush.
* Normals: the ziggurat method of G. Marsaglia and W. W. Tsang, "The Ziggurat Method for
  Generating Random Variables", J. Stat. Softw. 5(8), 2000, with 256 layers
  (r = 3.6541528853610088, v = 0.00492867323399 from that paper), in single-precision
  resolution: normal i takes the 32-bit half (i & 1) of word i >> 1, whose bits are the layer
  (8), the sign (1) and a 23-bit magnitude (as a float32 significand), so no bit serves twice
  (the flaw Doornik 2005 found in the original RNOR). About 99 % of draws are accepted at once.
  The rest (wedge tests, new attempts after a rejection, and the tail beyond r by Marsaglia's
  1964 method) take further words from a second SplitMix64 stream seeded by that half-word:
  how many varies, but draw i still depends on (key, i) only.

numba's on-disk cache does not see edits here from kernels in other modules that inline
``normal32``: clear their ``__pycache__/*.nb[ic]`` after changing this file.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from xpusim.numerics.builds import threaded_and_serial

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
SALT = np.uint64(0xD1B54A32D192ED03)  # seeds the slow-path stream from a draw's half-word
R = 3.6541528853610088   # Marsaglia & Tsang 2000: start of the tail, 256 layers
V = 0.00492867323399     # Marsaglia & Tsang 2000: area of each layer
MAG_BITS = 23
SCALE = float(1 << MAG_BITS)


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ziggurat tables (Marsaglia & Tsang 2000, section 2) for a 23-bit magnitude: k (accept
    when magnitude < k[layer]), w (magnitude -> x), f (the density at each layer's edge)."""
    k = np.zeros(256, np.uint64)
    w = np.zeros(256)
    f = np.zeros(256)
    dn = tn = R
    q = V / math.exp(-0.5 * dn * dn)
    k[0] = np.uint64(int(dn / q * SCALE))
    w[0] = q / SCALE
    w[255] = dn / SCALE
    f[0] = 1.0
    f[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(V / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = np.uint64(int(dn / tn * SCALE))
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / SCALE
    return k, w, f


KI, WI, FI = _tables()


@njit(cache=True, inline="always")
def mix(z):
    """SplitMix64 finalizer of one 64-bit state."""
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def word(key, w):
    """Word w of the SplitMix64 stream ``key``."""
    return mix(key + (w + np.uint64(1)) * GOLDEN)


@njit(cache=True, inline="always")
def _uniform(seed, j):
    """Uniform in [0, 1) with 53 random bits: word j of the slow-path stream ``seed``."""
    return float(word(seed, np.uint64(j)) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def _point(h, wi):
    """(layer, sign, 23-bit magnitude, |x|) of the ziggurat point a 32-bit half-word picks."""
    idx = h & np.uint64(0xFF)
    mag = h >> np.uint64(9)
    return idx, (h >> np.uint64(8)) & np.uint64(1), mag, float(mag) * wi[idx]


@njit(cache=True)
def _slow_path(h, idx, sign, x, ki, wi, fi):
    """The ~1 % of draws outside a layer's rectangle: wedge test, the tail beyond R
    (Marsaglia 1964), new attempts after a rejection; uniforms from the stream seeded by h."""
    seed = mix(h ^ SALT)
    j = 0  # words of the slow-path stream used
    while True:
        if idx == 0:
            while True:
                xx = -math.log1p(-_uniform(seed, j)) / R
                yy = -math.log1p(-_uniform(seed, j + 1))
                j += 2
                if yy + yy > xx * xx:
                    return -(R + xx) if sign else R + xx
        if (fi[idx - 1] - fi[idx]) * _uniform(seed, j) + fi[idx] < math.exp(-0.5 * x * x):
            return -x if sign else x
        idx, sign, mag, x = _point(word(seed, np.uint64(j + 1)) & np.uint64(0xFFFFFFFF), wi)
        j += 2
        if mag < ki[idx]:
            return -x if sign else x


@njit(cache=True, inline="always")
def normal32(h, ki, wi, fi):
    """The standard normal of one 32-bit half-word ``h`` (a uint64 below 2^32)."""
    idx, sign, mag, x = _point(h, wi)
    if mag < ki[idx]:
        return -x if sign else x
    return _slow_path(h, idx, sign, x, ki, wi, fi)


@njit(cache=True, inline="always")
def normal(key, i, ki, wi, fi):
    """Standard normal number i of stream ``key`` (uint64s)."""
    r = word(key, i >> np.uint64(1))
    h = (r >> np.uint64(32)) if i & np.uint64(1) else (r & np.uint64(0xFFFFFFFF))
    return normal32(h, ki, wi, fi)


@njit(cache=True, inline="always")
def normals_block(key, start, out, buf):
    """out[f] = normal start + f of stream ``key`` (as ``normal``), in passes that vectorise:
    the 32-bit halves of the words into ``buf`` (uint64, at least out.size + 2 long), every
    draw on the ziggurat's fast path, then the ~1 % that leave it."""
    n = out.size
    if n == 0:
        return
    w0 = start >> np.uint64(1)
    nw = int(((start + np.uint64(n - 1)) >> np.uint64(1)) - w0) + 1
    for p in range(nw):
        r = word(key, w0 + np.uint64(p))
        buf[2 * p] = r & np.uint64(0xFFFFFFFF)
        buf[2 * p + 1] = r >> np.uint64(32)
    odd = int(start & np.uint64(1))
    redo = 0
    for f in range(n):
        h = buf[f + odd]
        idx = h & np.uint64(0xFF)
        mag = h >> np.uint64(9)
        x = float(mag) * WI[idx]
        out[f] = -x if (h >> np.uint64(8)) & np.uint64(1) else x
        redo += mag >= KI[idx]
    if redo:
        for f in range(n):
            h = buf[f + odd]
            if (h >> np.uint64(9)) >= KI[h & np.uint64(0xFF)]:
                out[f] = _slow_path(h, h & np.uint64(0xFF), (h >> np.uint64(8)) & np.uint64(1),
                                    float(h >> np.uint64(9)) * WI[h & np.uint64(0xFF)], KI, WI,
                                    FI)


BLOCK = 4096  # normals a block of ``_fill`` (one task of its parallel loop)


def _fill(key, out):
    """out (any shape, C order) = normals 0 .. out.size - 1 of stream ``key``, two per word,
    in blocks of ``BLOCK`` (``normals_block``)."""
    flat = out.reshape(-1)
    n = flat.size
    for b in prange((n + BLOCK - 1) // BLOCK):
        buf = np.empty(BLOCK + 2, np.uint64)
        lo = b * BLOCK
        normals_block(key, np.uint64(lo), flat[lo:min(n, lo + BLOCK)], buf)


fill_normal, fill_normal_serial = threaded_and_serial(_fill)
