"""The xpusim core: hooks, plugin manager, specs, trace, devices, pricing and the scheduler.

It knows no particular hardware or learning rule; those are plugins.
"""

from .capabilities import Capabilities
from .device import Device
from .errors import (CostError, IncompatibleError, PluginError, RunDiverged, SpecError,
                     UnknownNameError, XpusimError)
from .formats import Format, format_code, format_name
from .kernels import CostModel, KernelSet, Twin
from .method import TrainingMethod
from .registry import BackendInfo, DatasetInfo, MethodInfo, ModelInfo
from .specs import Spec, check, option, quantity
from .trace import FORMATS, PHASES, PRIMITIVES, Trace

__all__ = [
    "BackendInfo", "Capabilities", "CostError", "CostModel", "DatasetInfo", "Device", "FORMATS",
    "Format", "IncompatibleError", "KernelSet", "MethodInfo", "ModelInfo", "PHASES", "PRIMITIVES",
    "PluginError", "RunDiverged", "Spec", "SpecError", "Trace", "TrainingMethod", "Twin",
    "UnknownNameError", "XpusimError", "check", "format_code", "format_name", "option", "quantity",
]
