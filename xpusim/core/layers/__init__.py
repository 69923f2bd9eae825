"""Layer types: one small class each, hardware- and rule-neutral (see ``base.py``).

Built-in types are registered through ``xpusim_register_layers`` like any plugin's.
"""

from .activation import ACTIVATIONS, Activation, Softmax, SwiGLU, activate, derivative, softmax
from .attention import MultiHeadAttention
from .base import Layer, Matrix, Ops, Shape, held
from .conv import Conv2d, col2im, im2col
from .dense import Dense
from .embedding import AddPositions, Embedding
from .norm import BatchNorm, LayerNorm
from .pool import GlobalAvgPool, Pool2d
from .structure import Add, Flatten, Tokens

BUILTIN: tuple[type[Layer], ...] = (Dense, Conv2d, Pool2d, GlobalAvgPool, Flatten, Tokens, Add,
                                    LayerNorm, BatchNorm, Embedding, AddPositions,
                                    MultiHeadAttention, Activation, SwiGLU, Softmax)

__all__ = ["ACTIVATIONS", "Activation", "Add", "AddPositions", "BUILTIN", "BatchNorm", "Conv2d", "Dense",
           "Embedding", "Flatten", "GlobalAvgPool", "Layer", "LayerNorm", "Matrix",
           "MultiHeadAttention", "Ops", "Pool2d", "Shape", "Softmax", "SwiGLU", "Tokens", "activate", "col2im",
           "derivative", "held", "im2col", "softmax"]
