"""Neuromorphic backend: a Loihi-like local-learning chip (spikes, fixed-point synapses,
event-driven cost, no transposed read of trained weights).

Kernels are named by reference: registering the backend and loading its specs import no
numba (``compute``, ``cost`` and ``twins`` load when a run, a price or the conformance suite
first needs them)."""

from xpusim.core import Format, HardwareBackend
from xpusim.core.kernels import GEOMETRY_COLUMNS, STANDARD_COLUMNS
from xpusim.numerics.standard import INTS

from . import costmodel, params
from .device import NeuromorphicDevice

SPIKE = Format("spike", None, "device", "spike events (rate: counts over timesteps; graded: a "
               "payload of the row's bits)")

BACKEND = HardwareBackend(
    name="neuromorphic", package=__name__,
    doc="Loihi-like spiking chip: on-chip local learning, event-driven cost",
    params=params.NeuromorphicParams, device=NeuromorphicDevice,
    primitives={"mvm", "update", "elementwise", "reduce", "write"}, optimizers={"sgd"},
    formats=(*INTS, SPIKE), capabilities=costmodel.capabilities,
    kernels=f"{__name__}.compute",
    compute=("encode_rate", "encode_graded", "quantize_trace", "learn"),
    price=f"{__name__}.cost:price", cost_params=costmodel.COST_PARAMS,
    components=costmodel.COMPONENTS, extras=costmodel.EXTRAS, summarize=costmodel.summarize,
    boundary="chip: one neuromorphic chip (cores + on-chip memory); host, board and I/O "
             "excluded", columns=STANDARD_COLUMNS + GEOMETRY_COLUMNS)
xpusim_register_backends, _, xpusim_compute_kernels, xpusim_cost_kernels = BACKEND.hooks()
