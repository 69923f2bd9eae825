"""The counter-based normals (xpusim.numerics.gauss): the right distribution, and draw i of a
stream depends on (key, i) only (the property that makes parallel draws reproducible)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xpusim.numerics import gauss, reference

N = 1 << 21


@pytest.fixture(scope="module")
def draws():
    out = np.empty(N)
    gauss.fill_normal(np.uint64(2024), out)
    return out


def test_moments_are_standard_normal(draws):
    """Mean 0, variance 1, skewness 0, excess kurtosis 0, each within 5 standard errors."""
    n = draws.size
    z = (draws - draws.mean()) / draws.std()
    assert abs(draws.mean()) < 5 / math.sqrt(n)
    assert abs(draws.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs((z ** 3).mean()) < 5 * math.sqrt(6 / n)
    assert abs((z ** 4).mean() - 3) < 5 * math.sqrt(24 / n)


@pytest.mark.parametrize("t", [1.0, 2.0, 3.0, gauss.R, 4.0])
def test_tail_counts(draws, t):
    """P(|x| > t) as erfc(t / sqrt 2), within 5 standard errors of the count; the ziggurat's
    base strip ends at R, so its tail method is exercised by the last two."""
    p = math.erfc(t / math.sqrt(2))
    expected = p * draws.size
    assert abs((np.abs(draws) > t).sum() - expected) < 5 * math.sqrt(expected)


def test_draw_i_depends_on_key_and_i_only():
    long = np.empty(1001)
    gauss.fill_normal(np.uint64(7), long)
    short = np.empty(10)
    gauss.fill_normal_serial(np.uint64(7), short)
    np.testing.assert_array_equal(short, long[:10])
    other = np.empty(10)
    gauss.fill_normal(np.uint64(8), other)
    assert not np.any(other == short)


def test_parallel_serial_and_twin_agree_bit_for_bit():
    a, b, c = (np.empty((3, 17, 29), np.float32) for _ in range(3))
    gauss.fill_normal(np.uint64(99), a)
    gauss.fill_normal_serial(np.uint64(99), b)
    reference.fill_normal(np.uint64(99), c)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("start,n", [(0, 1), (1, 1), (3, 8), (10, 257), (4095, 9000)])
def test_block_draws_are_the_draws_of_their_index(start, n):
    """``normals_block`` (fast path first, slow path after) gives normal start + f for each f,
    odd starts included; 9000 draws take the slow path (~1 %) many times."""
    from numba import njit

    @njit
    def block(key, start, out):
        gauss.normals_block(key, np.uint64(start), out, np.empty(out.size + 2, np.uint64))

    @njit
    def one_by_one(key, start, out):
        for f in range(out.size):
            out[f] = gauss.normal(key, np.uint64(start + f), gauss.KI, gauss.WI, gauss.FI)

    a, b = np.empty(n), np.empty(n)
    block(np.uint64(5), start, a)
    one_by_one(np.uint64(5), start, b)
    np.testing.assert_array_equal(a, b)
