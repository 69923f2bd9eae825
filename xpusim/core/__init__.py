"""The xpusim core: hooks, plugin manager, specs, trace, devices, pricing and the scheduler.

It knows no particular hardware or learning rule; those are plugins. Names are imported on
first use (``from xpusim.core import Device`` works as usual), so a command that needs only
errors or spec files does not pay for NumPy and numba.
"""

from __future__ import annotations

from xpusim.lazy import lazy_exports

_WHERE = {
    "Capabilities": "capabilities", "Format": "formats", "format_code": "formats",
    "format_name": "formats", "Device": "device", "TrainingMethod": "method", "Spec": "specs", "check": "specs",
    "option": "specs", "quantity": "specs", "CostModel": "kernels", "KernelSet": "kernels",
    "Twin": "kernels", "FORMATS": "trace", "PHASES": "trace", "PRIMITIVES": "trace",
    "Trace": "trace", "BackendInfo": "registry", "DatasetInfo": "registry",
    "DataShape": "registry",
    "MethodInfo": "registry", "ModelInfo": "registry",
    "HardwareBackend": "backend", "ParamVector": "backend", "si_factor": "backend",
    "MasterWeightsDevice": "device", "load": "kernels", "TrainedValues": "trained",
    **{name: "errors" for name in ("CostError", "IncompatibleError", "PluginError",
                                   "RunDiverged", "SpecError", "UnknownNameError",
                                   "XpusimError")},
}

__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
