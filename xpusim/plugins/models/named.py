"""Built-in named models, each adapted to the data set's image size and classes."""

from __future__ import annotations

from xpusim.core.errors import XpusimError
from xpusim.core.graph import Graph, GraphBuilder
from xpusim.core.layers import (Activation, Add, AddPositions, Conv2d, Dense, GlobalAvgPool,
                                LayerNorm, MultiHeadAttention, Tokens)
from xpusim.core.registry import DataShape

from .cnn import build_cnn, residual_block


def _images(name: str, data: DataShape) -> tuple[int, int, int]:
    if len(data.sample_shape) != 3:
        raise XpusimError(f"model {name!r} takes images (C, H, W); the data set gives samples "
                          f"of shape {data.sample_shape}")
    return data.sample_shape  # type: ignore[return-value]


def lenet5(args: str, data: DataShape) -> Graph:
    """LeNet-5 (LeCun et al. 1998) with relu and max pooling, both 5x5 convolutions padded by
    2 so that it fits any image of at least 4 x 4 (8x8 digits: 6@8x8, 16@4x4, 16x2x2 into
    the 120-84-classes head)."""
    _images("lenet5", data)
    return build_cnn("lenet5", "c6k5p2-m2-c16k5p2-m2-d120-d84", data)


def _resnet(depth: int, data: DataShape) -> Graph:
    """CIFAR ResNet (He et al. 2016, sec. 4.2): conv3 16 + bn + relu, three stages of
    (depth - 2) / 6 basic blocks with 16, 32, 64 filters (stride 2 entering stages 2 and 3,
    1x1-conv projection shortcuts), global average pooling, dense."""
    name = f"resnet{depth}"
    _images(name, data)
    n = (depth - 2) // 6
    b = GraphBuilder(name, data.sample_shape)
    b.add(Conv2d(16, 3, 1, 1, bias=False))
    from xpusim.core.layers import BatchNorm

    b.add(BatchNorm())
    b.add(Activation("relu"))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(n):
            stride = 2 if stage > 0 and block == 0 else 1
            residual_block(b, filters, stride, "relu", b.build().shapes[b.last])
    b.add(GlobalAvgPool())
    b.add(Dense(data.classes))
    return b.build()


def resnet8(args: str, data: DataShape) -> Graph:
    return _resnet(8, data)


def resnet20(args: str, data: DataShape) -> Graph:
    return _resnet(20, data)


VIT_TINY = {"dim": 64, "depth": 4, "heads": 4, "mlp": 128}
"""xpusim's vit-tiny: small enough to train on a CPU in minutes (not DeiT-Ti's 192 x 12)."""


def vit_tiny(args: str, data: DataShape) -> Graph:
    """Vision transformer (Dosovitskiy et al. 2021): non-overlapping patches (2 x 2 below 16
    pixels, 4 x 4 from 16) embedded by a strided convolution, learned positions, pre-norm
    blocks (layer norm, 4-head attention, residual; layer norm, GELU MLP, residual), final
    layer norm, mean over tokens, dense to the classes. Sizes in ``VIT_TINY``."""
    c, h, w = _images("vit-tiny", data)
    patch = 2 if min(h, w) < 16 else 4
    if h % patch or w % patch:
        raise XpusimError(f"vit-tiny: image {h}x{w} is not a multiple of its {patch}x{patch} "
                          "patches")
    d = VIT_TINY["dim"]
    b = GraphBuilder("vit-tiny", data.sample_shape)
    b.add(Conv2d(d, patch, patch, 0), name="patches")
    b.add(Tokens())
    x = b.add(AddPositions((h // patch) * (w // patch)))
    for _ in range(VIT_TINY["depth"]):
        x = transformer_block(b, x, d, VIT_TINY["heads"], None, VIT_TINY["mlp"], "gelu",
                              causal=False)
    b.add(LayerNorm())
    b.add(GlobalAvgPool())
    b.add(Dense(data.classes), name="head")
    return b.build()


def transformer_block(b: GraphBuilder, x: str, d: int, heads: int, kv_heads: int | None,
                      ffn: int, ffn_kind: str, causal: bool) -> str:
    """Pre-norm block: x + attention(norm(x)), then + MLP(norm(.)); returns its output."""
    from xpusim.core.layers import SwiGLU

    b.add(LayerNorm(), inputs=[x])
    b.add(MultiHeadAttention(heads, kv_heads, causal=causal))
    x = b.add(Add(), inputs=[b.last, x])
    b.add(LayerNorm(), inputs=[x])
    if ffn_kind == "swiglu":
        b.add(Dense(2 * ffn))
        b.add(SwiGLU())
    else:
        b.add(Dense(ffn))
        b.add(Activation("gelu"))
    b.add(Dense(d))
    return b.add(Add(), inputs=[b.last, x])
