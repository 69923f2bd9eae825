"""ONNX import: small models built here with ``onnx.helper`` give, on an fp32 GPU, what the ONNX
reference implementation computes (max error within 1e-5 of the output's scale); every file
or node that cannot be imported is one message naming it; the committed LeNet-5 of the
tutorial evaluates end to end on the CLI, drift included."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import xpusim
from xpusim.cli import entry
from xpusim.core.errors import XpusimError
from xpusim.core.network import Network
from xpusim.core.optim import SGD
from xpusim.core.registry import DataShape
from xpusim.core.trace import Trace
from xpusim.importers.onnx import OnnxError, load_onnx, supported_operators

ROOT = Path(__file__).resolve().parents[2]
LENET = ROOT / "examples" / "onnx" / "lenet5-digits.onnx"
RNG = np.random.default_rng(0)


# -- building models ------------------------------------------------------------------------


def _w(*shape, scale=0.5):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _init(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def _model(nodes, inits, in_shape, out_name="y", opset=17, in_type=TensorProto.FLOAT):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", in_type, ["batch", *in_shape])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["batch", None])],
        [_init(k, v) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _save(model, tmp_path, name="m.onnx"):
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def mlp():
    """PyTorch's nn.Linear as exported: Gemm with transB = 1."""
    nodes = [helper.make_node("Gemm", ["x", "w0", "b0"], ["h"], "fc0", transB=1),
             helper.make_node("Relu", ["h"], ["r"], "relu0"),
             helper.make_node("Gemm", ["r", "w1", "b1"], ["y"], "fc1", transB=1)]
    return _model(nodes, {"w0": _w(16, 12), "b0": _w(16), "w1": _w(5, 16), "b1": _w(5)}, [12])


def cnn():
    """Conv (padded) + Relu + MaxPool + strided Conv + Flatten + Gemm on 2x7x6 images (H != W,
    C > 1: a wrong layout or kernel order shows)."""
    nodes = [helper.make_node("Conv", ["x", "k0", "c0"], ["a"], "conv0", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["b"], "relu0"),
             helper.make_node("MaxPool", ["b"], ["p"], "pool0", kernel_shape=[2, 2],
                              strides=[2, 2]),
             helper.make_node("Conv", ["p", "k1"], ["q"], "conv1", kernel_shape=[2, 2],
                              strides=[1, 1]),
             helper.make_node("Flatten", ["q"], ["f"], "flat", axis=1),
             helper.make_node("Gemm", ["f", "w", "bias"], ["y"], "fc", transB=1)]
    inits = {"k0": _w(4, 2, 3, 3), "c0": _w(4), "k1": _w(3, 4, 2, 2), "w": _w(5, 3 * 2 * 2),
             "bias": _w(5)}
    return _model(nodes, inits, [2, 7, 6])


def residual():
    """Conv + BatchNorm (its own statistics and epsilon) + Relu + Conv + residual Add, then
    AveragePool, GlobalAveragePool, Flatten and a Gemm without transB (alpha, beta, C (1, N))."""
    nodes = [helper.make_node("Conv", ["x", "k0", "c0"], ["a"], "conv0", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["a", "g", "s", "m", "v"], ["n"], "bn",
                              epsilon=1e-3, momentum=0.9),
             helper.make_node("Relu", ["n"], ["r"], "relu0"),
             helper.make_node("Conv", ["r", "k1"], ["c"], "conv1", kernel_shape=[3, 3],
                              auto_pad="SAME_UPPER"),
             helper.make_node("Add", ["c", "a"], ["sum"], "residual"),
             helper.make_node("AveragePool", ["sum"], ["ap"], "avg", kernel_shape=[2, 2],
                              strides=[1, 1]),
             helper.make_node("GlobalAveragePool", ["ap"], ["gp"], "gap"),
             helper.make_node("Flatten", ["gp"], ["f"], "flat"),
             helper.make_node("Gemm", ["f", "w", "bias"], ["y"], "fc", alpha=0.5, beta=2.0)]
    inits = {"k0": _w(4, 3, 3, 3), "c0": _w(4), "g": _w(4) + 1, "s": _w(4),
             "m": _w(4), "v": np.abs(_w(4)) + 0.1, "k1": _w(4, 4, 3, 3), "w": _w(4, 6),
             "bias": _w(1, 6)}
    return _model(nodes, inits, [3, 5, 5])


def tokens():
    """Per-token MatMul + Add (the bias), tanh GELU, LayerNormalization, MatMul, Reshape to one
    row per sample, Gemm and a final Softmax: a transformer's MLP shapes without attention."""
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["h"], "up"),
             helper.make_node("Add", ["h", "b0"], ["hb"], "up_bias"),
             helper.make_node("Gelu", ["hb"], ["g"], "gelu", approximate="tanh"),
             helper.make_node("LayerNormalization", ["g", "scale", "shift"], ["n"], "ln",
                              axis=-1, epsilon=1e-6),
             helper.make_node("MatMul", ["n", "w1"], ["d"], "down"),
             helper.make_node("Reshape", ["d", "shape"], ["flat"], "rows"),
             helper.make_node("Gemm", ["flat", "w2"], ["s"], "head", transB=1),
             helper.make_node("Softmax", ["s"], ["y"], "probs", axis=-1)]
    inits = {"w0": _w(6, 10), "b0": _w(10), "scale": _w(10) + 1, "shift": _w(10),
             "w1": _w(10, 6), "shape": np.array([-1, 24], np.int64), "w2": _w(3, 24)}
    return _model(nodes, inits, [4, 6], opset=20)


def view_idiom():
    """PyTorch's x.view(x.size(0), -1) (Shape, Gather, Unsqueeze, Concat, Reshape), weights
    from a Constant node, Identity, Dropout, Sigmoid, Tanh, global pooling then Squeeze, and
    a residual Add of the two branches."""
    w = helper.make_tensor("wc", TensorProto.FLOAT, [8, 3], _w(8, 3).reshape(-1).tolist())
    nodes = [helper.make_node("Conv", ["x", "k"], ["a"], "conv", kernel_shape=[1, 1]),
             helper.make_node("Sigmoid", ["a"], ["s"], "sig"),
             helper.make_node("Identity", ["s"], ["i"], "id"),
             helper.make_node("Dropout", ["i"], ["d"], "drop"),
             helper.make_node("Shape", ["d"], ["sh"], "shape"),
             helper.make_node("Gather", ["sh", "zero"], ["n"], "batch", axis=0),
             helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], "unsq"),
             helper.make_node("Concat", ["n1", "minus1"], ["target"], "cat", axis=0),
             helper.make_node("Reshape", ["d", "target"], ["flat"], "view"),
             helper.make_node("Constant", [], ["W"], "weights", value=w),
             helper.make_node("MatMul", ["flat", "W"], ["m"], "fc"),
             helper.make_node("Tanh", ["m"], ["t"], "tanh"),
             helper.make_node("GlobalAveragePool", ["d"], ["gp"], "gap"),
             helper.make_node("Squeeze", ["gp", "axes23"], ["sq"], "squeeze"),
             helper.make_node("MatMul", ["sq", "w2"], ["m2"], "fc2"),
             helper.make_node("Add", ["t", "m2"], ["y"], "join")]
    inits = {"k": _w(2, 1, 1, 1), "zero": np.array(0, np.int64),
             "axes0": np.array([0], np.int64), "minus1": np.array([-1], np.int64),
             "axes23": np.array([2, 3], np.int64), "w2": _w(2, 3)}
    return _model(nodes, inits, [1, 2, 2])


def mean():
    """x.mean((2, 3)) as the dynamo exporter writes it (ReduceMean, axes as an input, opset
    18), then a Gemm."""
    nodes = [helper.make_node("Conv", ["x", "k", "c"], ["a"], "conv", kernel_shape=[3, 3]),
             helper.make_node("ReduceMean", ["a", "axes"], ["m"], "mean", keepdims=0),
             helper.make_node("Gemm", ["m", "w", "b"], ["y"], "fc", transB=1)]
    inits = {"k": _w(5, 2, 3, 3), "c": _w(5), "axes": np.array([-2, -1], np.int64),
             "w": _w(4, 5), "b": _w(4)}
    return _model(nodes, inits, [2, 6, 5], opset=18)


MODELS = {"mlp": mlp, "cnn": cnn, "residual": residual, "tokens": tokens, "mean": mean}


# -- comparing with the reference implementation ---------------------------------------------


def _gpu_forward(pm, graph, x):
    spec = pm.load_spec("h100-sxm", ["compute_format=fp32"])
    info = pm.backend(spec.backend)
    device = info.device(spec, pm.compute_kernels(spec), np.random.default_rng(0), Trace(),
                         SGD(0.0), primitives=info.primitives)
    net = Network(graph, device)
    net.initialize(np.random.default_rng(0))
    return net.forward(x, "inference")[0]


def _assert_matches_reference(pm, model, tmp_path):
    path = _save(model, tmp_path)
    graph = load_onnx(path)
    x = np.random.default_rng(1).random((9, *graph.input_shape), dtype=np.float32)
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    got = _gpu_forward(pm, graph, x)
    assert got.shape == want.shape
    scale = float(np.abs(want).max())
    assert scale > 0 and np.abs(got - want).max() <= 1e-5 * scale, np.abs(got - want).max()
    return graph


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fp32_forward_matches_the_onnx_reference(pm, tmp_path, name):
    graph = _assert_matches_reference(pm, MODELS[name](), tmp_path)
    assert graph.trained is not None and graph.trained.matrices


def test_shape_arithmetic_constants_and_pass_through_nodes(pm, tmp_path):
    graph = _assert_matches_reference(pm, view_idiom(), tmp_path)
    assert [r["layer"] for r in graph.describe()] == [
        "conv2d 2x1x1 s1 p0", "sigmoid", "flatten", "dense 3", "tanh", "global-avg-pool",
        "dense 3", "add"]


def test_layers_and_values_as_imported(tmp_path):
    model = residual()
    graph = load_onnx(_save(model, tmp_path))
    layers = {r["name"]: r["layer"] for r in graph.describe()}
    assert layers["bn"] == "batchnorm eps 0.001" and layers["conv1"] == "conv2d 4x3x3 s1 p1"
    assert layers["avg"] == "avgpool 2 s1" and layers["residual"] == "add"
    bn = next(n for n in graph.nodes if n.name == "bn").layer
    assert bn.momentum == pytest.approx(0.1)  # ONNX's 0.9 is PyTorch's (and xpusim's) 0.1
    w, b = graph.trained.matrices[("fc", 0)]
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    np.testing.assert_array_equal(w, inits["w"] * np.float32(0.5))
    np.testing.assert_array_equal(b, inits["bias"].reshape(-1) * np.float32(2.0))
    k, _ = graph.trained.matrices[("conv0", 0)]
    np.testing.assert_array_equal(k, inits["k0"].reshape(4, -1).T)  # (C·kh·kw) x filters
    state = inits["m"].size + inits["v"].size  # running statistics: kept, not trained
    assert graph.n_params == sum(v.size for v in inits.values()) - state


def test_bias_add_folds_into_the_matmul(tmp_path):
    graph = load_onnx(_save(tokens(), tmp_path))
    names = [n.name for n in graph.nodes]
    assert "up_bias" not in names and graph.nodes[0].layer.bias
    assert graph.input_shape == (4, 6) and graph.output_shape == (3,)


# -- refusals, each naming the node and the reason ---------------------------------------------


def _one(node, inits, in_shape=(2, 6, 6), opset=17):
    return _model([node], inits, list(in_shape), opset=opset)


K = _w(4, 2, 3, 3)


@pytest.mark.parametrize("model,match", [
    (lambda: _one(helper.make_node("LeakyRelu", ["x"], ["y"], "act1"), {}),
     r"node 'act1' \(LeakyRelu\): operator LeakyRelu is not supported; xpusim imports Add, "
     r"AveragePool, BatchNormalization, .*Conv, .*Gemm, .*Relu"),
    (lambda: _one(helper.make_node("Conv", ["x", "k"], ["y"], "g", kernel_shape=[3, 3],
                                   group=2), {"k": _w(4, 1, 3, 3)}),
     r"node 'g' \(Conv\): grouped convolution \(group = 2\)"),
    (lambda: _one(helper.make_node("Conv", ["x", "k"], ["y"], "d", kernel_shape=[3, 3],
                                   dilations=[2, 2]), {"k": K}), r"dilations \[2, 2\]"),
    (lambda: _one(helper.make_node("Conv", ["x", "k"], ["y"], "p", kernel_shape=[3, 3],
                                   pads=[1, 0, 1, 0]), {"k": K}),
     r"pads \[1, 0, 1, 0\]; xpusim pads equally on every side"),
    (lambda: _one(helper.make_node("Conv", ["x", "k"], ["y"], "r", kernel_shape=[3, 1]),
                  {"k": _w(4, 2, 3, 1)}), r"kernel 3x1; xpusim's conv2d has square kernels"),
    (lambda: _one(helper.make_node("MaxPool", ["x"], ["y"], "mp", kernel_shape=[2, 2],
                                   pads=[1, 1, 1, 1]), {}), r"xpusim pools without padding"),
    (lambda: _one(helper.make_node("ReduceMean", ["x"], ["y"], "rm", axes=[1]), {}),
     r"node 'rm' \(ReduceMean\): averages over axes \[1\] of \(batch, \*\(2, 6, 6\)\)"),
    (lambda: _one(helper.make_node("Gelu", ["x"], ["y"], "ge"), {}, opset=20),
     r"approximate = 'none' \(GELU with erf\)"),
    (lambda: _one(helper.make_node("MatMul", ["x", "x"], ["y"], "qk"), {}, (3, 3)),
     r"node 'qk' \(MatMul\): multiplies two activations"),
    (lambda: _one(helper.make_node("Add", ["x", "c"], ["y"], "shift"), {"c": _w(6)}),
     r"node 'shift' \(Add\): adds a constant of shape \(6,\) to an activation"),
    (lambda: _one(helper.make_node("Flatten", ["x"], ["y"], "f0", axis=0), {}),
     r"flattens at axis 0, merging the batch axis"),
    (lambda: _one(helper.make_node("Softmax", ["x"], ["y"], "sm", axis=1), {}),
     r"softmax over axis 1; xpusim's softmax runs over the last axis"),
    (lambda: _one(helper.make_node("BatchNormalization", ["x", "a", "a", "a", "a"], ["y"],
                                   "bn", training_mode=1), {"a": np.ones(2, np.float32)},
                  opset=15), r"training_mode = 1; export the model in eval mode"),
    (lambda: _one(helper.make_node("Relu", ["x"], ["y"], "r"), {}, opset=8),
     r"default-domain opset 8; xpusim reads opset 9 and later"),
    (lambda: _model([helper.make_node("Relu", ["x"], ["y"], "r")], {}, [3],
                    in_type=TensorProto.INT64),
     r"input 'x' holds int64; xpusim imports models of float32 input"),
])
def test_what_cannot_be_imported_is_one_message(tmp_path, model, match):
    path = _save(model(), tmp_path)
    with pytest.raises(OnnxError, match=match) as info:
        load_onnx(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_supported_operators_are_listed():
    ops = supported_operators()
    assert {"Gemm", "MatMul", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten",
            "Reshape", "Relu", "Tanh", "Sigmoid", "Gelu", "Softmax", "BatchNormalization",
            "Add", "LayerNormalization", "Identity", "Dropout", "Constant"} <= set(ops)


def test_an_unused_unsupported_branch_is_ignored(pm, tmp_path):
    model = mlp()
    model.graph.node.append(helper.make_node("LeakyRelu", ["h"], ["unused"], "dead"))
    graph = _assert_matches_reference(pm, model, tmp_path)
    assert "dead" not in [n.name for n in graph.nodes]


# -- files: data, never code ---------------------------------------------------------------------


@pytest.mark.parametrize("content,match", [
    (b"", r"the file is empty"),
    (b"\xff\xff\xff\xff not protobuf", r"not an ONNX model \(the protobuf does not parse"),
    (b"hello world", r"not an ONNX model"),
])
def test_malformed_files_are_refused(tmp_path, content, match):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(OnnxError, match=match):
        load_onnx(path)


def test_truncated_and_invalid_models_are_refused(tmp_path):
    data = mlp().SerializeToString()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(OnnxError, match=r"cut.onnx: (not an ONNX model|malformed ONNX model)"):
        load_onnx(cut)
    bad = mlp()
    bad.graph.node[1].input[0] = "nowhere"  # reads a tensor nothing produces
    path = tmp_path / "bad.onnx"
    path.write_bytes(bad.SerializeToString())
    with pytest.raises(OnnxError, match=r"bad.onnx: malformed ONNX model: .*nowhere"):
        load_onnx(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(OnnxError, match=r"no such ONNX file"):
        load_onnx(tmp_path / "none.onnx")
    with pytest.raises(OnnxError, match=r"not a file"):
        load_onnx(tmp_path)


def _external(model, folder, location):
    """``model`` saved as folder/m.onnx with initializer w0 in the external file
    folder/``location``."""
    t = next(t for t in model.graph.initializer if t.name == "w0")
    raw = numpy_helper.to_array(t).tobytes()
    target = folder / location
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(raw)
    t.ClearField("float_data")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(len(raw)))):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_external_weights_beside_the_model_load(tmp_path):
    model = mlp()
    want = numpy_helper.to_array(model.graph.initializer[0])
    path = _external(model, tmp_path / "models", "weights.bin")
    graph = load_onnx(path)
    np.testing.assert_array_equal(graph.trained.matrices[("fc0", 0)][0], want.T)


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd"])
def test_external_weights_outside_the_folder_are_refused(tmp_path, location):
    path = _external(mlp(), tmp_path / "models", "w.bin")
    m = onnx.load(str(path), load_external_data=False)
    for e in m.graph.initializer[0].external_data:
        if e.key == "location":
            e.value = location
    path.write_bytes(m.SerializeToString())
    (tmp_path / "secret.bin").write_bytes(b"\0" * 4096)
    with pytest.raises(OnnxError, match=r"tensor 'w0': external data .* lies outside the "
                                        r"model's folder"):
        load_onnx(path)


def test_missing_onnx_package_says_how_to_install(monkeypatch, tmp_path):
    path = _save(mlp(), tmp_path)
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(OnnxError, match=r"needs the onnx package: pip install 'xpusim\[onnx\]'"):
        load_onnx(path)


# -- as a model name -------------------------------------------------------------------------------


def test_model_names_onnx_prefix_and_suffix(pm, tmp_path):
    path = _save(cnn(), tmp_path)
    data = DataShape((2, 7, 6), 5)
    a, b = pm.model(f"onnx:{path}", data), pm.model(str(path), data)
    assert a.describe() == b.describe() and a.trained.digest == b.trained.digest
    assert a.name == f"onnx:{path}"
    assert xpusim.load_onnx(path).describe() == a.describe()
    with pytest.raises(XpusimError, match=r"model 'onnx:' needs a file"):
        pm.model("onnx:", data)


def _cli(capsys, *argv):
    code = entry(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_shape_mismatch_is_one_line(capsys, tmp_path):
    path = _save(cnn(), tmp_path)  # takes 2x7x6 images
    code, out, err = _cli(capsys, "run", "--model", f"onnx:{path}", "--dataset", "digits",
                          "--epochs", "0")
    assert code == 2 and "Traceback" not in err
    assert err.strip() == (f"error: model 'onnx:{path}' takes samples of shape (2, 7, 6); "
                           "data set 'digits' gives (1, 8, 8)")


def test_cli_unsupported_and_malformed_files_are_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01garbage")
    odd = _save(_one(helper.make_node("LeakyRelu", ["x"], ["y"], "act1"), {}, (64,)),
                tmp_path, "odd.onnx")
    for path, needle in ((bad, "not an ONNX model"), (odd, "node 'act1' (LeakyRelu)")):
        code, out, err = _cli(capsys, "run", "--model", f"onnx:{path}", "--epochs", "0")
        assert code == 2 and "Traceback" not in err and needle in err
        assert len(err.strip().splitlines()) == 1


def test_an_mlp_file_takes_flattened_digits(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], "fc", transB=1)]
    path = _save(_model(nodes, {"w": _w(10, 64), "b": _w(10)}, [64]), tmp_path)
    r = xpusim.run(hardware="h100-sxm", model=f"onnx:{path}", epochs=0)
    assert r.status == "ok" and 0 <= r.final_test_accuracy <= 1
    assert r.config["model_params"] == 650 and r.config["model_source"] == str(path)


# -- the tutorial's LeNet-5, end to end ----------------------------------------------------------


def _digits_test():
    from xpusim.core.data.images import load_digits

    d = load_digits()
    return d.x_test, d.y_test


def test_lenet_on_gpu_fp32_gives_the_reference_accuracy(tmp_path, capsys):
    x, y = _digits_test()
    scores = ReferenceEvaluator(str(LENET)).run(None, {"image": x})[0]
    want = float((scores.argmax(1) == y).mean())
    out = tmp_path / "gpu.json"
    code, _, err = _cli(capsys, "run", "--hardware", "h100-sxm", "--model", f"onnx:{LENET}",
                        "--dataset", "digits", "--epochs", "0", "--out", str(out))
    assert code == 0, err
    r = json.loads(out.read_text())
    assert r["final_test_accuracy"] == want and want > 0.9
    assert r["inference_per_sample"]["energy_j"] > 0 and r["accuracy_per_epoch"] == []


def test_lenet_on_pcm_hermes_drifts_over_a_day(tmp_path, capsys):
    acc = {}
    for name, sets in (("1s", ["inference_time_s=1"]), ("1day", ["inference_time_s=86400"]),
                       ("adc4", ["inference_time_s=1", "adc.bits=4"])):
        out = tmp_path / f"{name}.json"
        code, _, err = _cli(capsys, "run", "--hardware", "pcm-hermes", "--model",
                            f"onnx:{LENET}", "--dataset", "digits", "--epochs", "0",
                            *[a for s in sets for a in ("--set", s)], "--out", str(out))
        assert code == 0, err
        r = json.loads(out.read_text())
        assert r["status"] == "ok" and np.isfinite(r["final_test_accuracy"])
        assert r["deploy"]["energy_j"] > 0  # the imported weights were programmed
        acc[name] = r["final_test_accuracy"]
    # The trained weights read back through the analog chip: far above chance (0.1). With
    # seed 0, a day of conductance drift costs accuracy, and 4-bit ADCs cost more.
    assert acc["1s"] > 0.9
    assert acc["1day"] < acc["1s"] and acc["adc4"] < acc["1day"]
