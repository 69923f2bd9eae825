"""Built-in model families (``mlp:``, ``cnn:``, named models, transformer TOML files) and
layer types, registered through the same hooks as any plugin's."""

from xpusim import hookimpl
from xpusim.core import ModelInfo
from xpusim.core.layers import BUILTIN

from . import cnn, mlp, named, transformer


@hookimpl
def xpusim_register_models():
    from xpusim.llm.model import list_models

    families = [
        ModelInfo("mlp", mlp.parse_mlp, "multilayer perceptron: mlp:64-256-10[:relu|tanh|sigmoid]"),
        ModelInfo("cnn", cnn.parse_cnn, "convolutional network in the compact syntax: "
                                        "cnn:c32k3-c32k3-m2-d64[:act] (docs/models.md)"),
        ModelInfo("lenet5", named.lenet5, "LeNet-5 (relu, max pooling, padded 5x5 convs)"),
        ModelInfo("resnet8", named.resnet8, "CIFAR ResNet-8 (He et al. 2016)"),
        ModelInfo("resnet20", named.resnet20, "CIFAR ResNet-20 (He et al. 2016)"),
        ModelInfo("vit-tiny", named.vit_tiny, "a 4-block, 64-wide vision transformer"),
        ModelInfo("toml", transformer.parse_file, "a model TOML file (path ending in .toml)"),
    ]
    families += [ModelInfo(name, transformer.named(name), f"transformer {name} "
                           "(xpusim/llm/models)") for name in list_models()]
    return families


@hookimpl
def xpusim_register_layers():
    return list(BUILTIN)
