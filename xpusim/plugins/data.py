"""Built-in data sets (``digits``, ``idx:PATH``, ``mnist:PATH``) and model family (``mlp``)."""

from xpusim import hookimpl
from xpusim.core import DatasetInfo, ModelInfo
from xpusim.core import data, models


@hookimpl
def xpusim_register_datasets():
    return [
        DatasetInfo("digits", data.load_digits, data.load_digits.__doc__ or ""),
        DatasetInfo("idx", data.load_idx, data.load_idx.__doc__ or ""),
        DatasetInfo("mnist", data.load_mnist, data.load_mnist.__doc__ or ""),
    ]


@hookimpl
def xpusim_register_models():
    return [ModelInfo("mlp", models.parse_mlp, "multilayer perceptron: mlp:64-256-10[:relu|tanh|sigmoid]")]
