"""Model names: the compact CNN syntax, the built-in models (adapted to the data), transformer
files, and one clear error for each model that cannot be built or run."""

from __future__ import annotations

import pytest

import xpusim
from xpusim.core.errors import XpusimError
from xpusim.core.registry import DataShape

DIGITS = DataShape((1, 8, 8), 10)
MNIST = DataShape((1, 28, 28), 10)
CIFAR = DataShape((3, 32, 32), 10)
SEQ = DataShape((16,), 11, "sequence")


def test_compact_cnn_syntax(pm):
    g = pm.model("cnn:c16k3-bn-m2-c32k3s2p0-a2-d64", MNIST)
    described = [row["layer"] for row in g.describe()]
    assert described == ["conv2d 16x3x3 s1 p1", "batchnorm", "relu", "maxpool 2",
                         "conv2d 32x3x3 s2 p0", "relu", "avgpool 2", "flatten", "dense 64",
                         "relu", "dense 10"]
    assert g.shapes["conv2d1"] == (32, 6, 6) and g.output_shape == (10,)
    res = pm.model("cnn:c16k3-r16-r32s2-g:gelu", CIFAR)
    assert "add" in res.kinds and res.output_shape == (10,)
    assert res.shapes[res.nodes[-2].name] == (32,)  # global pooling before the output layer


@pytest.mark.parametrize("spec,match", [
    ("c16k3-q2", "cannot read layer 'q2'"),
    ("c0k3", "sizes and strides must be positive"),
    ("d32-c16k3", "needs images, but the layers before it flattened them"),
    ("c16k9p0-c16k9p0", r"leaves nothing of its input"),
])
def test_compact_syntax_errors_name_the_token(pm, spec, match):
    with pytest.raises(XpusimError, match=match):
        pm.model(f"cnn:{spec}", DIGITS)


def test_named_models_adapt_to_the_data(pm):
    assert pm.model("lenet5", DIGITS).shapes["flatten0"] == (64,)
    assert pm.model("lenet5", MNIST).shapes["flatten0"] == (784,)
    assert pm.model("resnet20", CIFAR).n_params == 272_474  # 0.27 M (He et al. 2016, Table 6)
    assert pm.model("resnet8", DIGITS).output_shape == (10,)
    assert pm.model("vit-tiny", DIGITS).shapes["patches"] == (64, 4, 4)   # 2x2 patches
    assert pm.model("vit-tiny", CIFAR).shapes["patches"] == (64, 8, 8)    # 4x4 patches
    with pytest.raises(XpusimError, match="takes images"):
        pm.model("lenet5", SEQ)


def test_transformers_refuse_what_functional_runs_do_not_implement(pm, tmp_path):
    assert pm.model("gpt-nano", SEQ).output_shape == (16, 11)
    with pytest.raises(XpusimError, match="takes token sequences"):
        pm.model("gpt-nano", DIGITS)
    with pytest.raises(XpusimError, match="rotary/ALiBi positions and rmsnorm"):
        pm.model("llama2-7b", SEQ)
    with pytest.raises(XpusimError, match="ties its output layer"):
        pm.model("gpt3-125m", SEQ)
    path = tmp_path / "dropout.toml"
    path.write_text('name = "d"\nlayers = 1\nd_model = 16\nheads = 2\nvocab = 11\nseq_len = 16\n'
                    'tied_embeddings = false\ndropout = true\n[source]\nlayers = "assumption: t"\n'
                    'd_model = "assumption: t"\nheads = "assumption: t"\nvocab = "assumption: t"\n'
                    'seq_len = "assumption: t"\ntied_embeddings = "assumption: t"\n'
                    'dropout = "assumption: t"\n')
    with pytest.raises(XpusimError, match="without dropout"):
        pm.model(str(path), SEQ)


def test_runs_refuse_pairings_before_any_work(pm):
    with pytest.raises(XpusimError, match="forward-forward' cannot train layer 'conv2d0'"):
        xpusim.run(model="lenet5", method="forward-forward", epochs=1, pm=pm)
    with pytest.raises(XpusimError, match="oja' cannot train layer 'embedding' of type "
                                          "'embedding' \\(model 'gpt-nano'\\): Hebbian"):
        xpusim.run(model="gpt-nano", dataset="seq-reverse", method="oja", epochs=1, pm=pm)
    with pytest.raises(XpusimError, match="needs primitive\\(s\\) matmul"):
        xpusim.run(model="gpt-nano", dataset="seq-reverse", hardware="loihi", method="dfa",
                   epochs=1, pm=pm)
    with pytest.raises(XpusimError, match="model 'lenet5' takes images \\(C, H, W\\); the "
                                          "data set gives samples of shape \\(16,\\)"):
        xpusim.run(model="lenet5", dataset="seq-reverse", epochs=1, pm=pm)
