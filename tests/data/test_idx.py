"""IDX folders (MNIST, Fashion-MNIST): images (N, 1, H, W), and one clear error per bad file."""

from __future__ import annotations

import numpy as np
import pytest

from xpusim.cli import entry
from xpusim.core.data import DataError, load_fashion_mnist, load_idx, load_mnist, read_idx

TRAIN_X, TRAIN_Y = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_X, TEST_Y = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


@pytest.mark.parametrize("zipped", [False, True])
def test_idx_folder_yields_images_scaled_to_unit_range(tmp_path, writers, zipped):
    made = writers.mnist_like(tmp_path, zipped=zipped)
    ds = load_idx(str(tmp_path))
    imgs = made["arrays"]
    assert ds.x_train.shape == (30, 1, 4, 5) and ds.x_test.shape == (10, 1, 4, 5)
    assert ds.sample_shape == (1, 4, 5) and ds.n_features == 20 and ds.task == "classification"
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(ds.x_train[:, 0], imgs[TRAIN_X].astype(np.float32) / 255)
    np.testing.assert_array_equal(ds.y_test, imgs[TEST_Y])
    assert ds.n_classes == int(imgs[TRAIN_Y].max()) + 1


def test_float_images_are_taken_as_they_are(tmp_path, writers):
    made = writers.mnist_like(tmp_path)
    x = made["arrays"][TRAIN_X] / np.float32(255)
    writers.write_idx(made["paths"][TRAIN_X], x.astype(np.float32))
    np.testing.assert_array_equal(load_idx(str(tmp_path)).x_train[:, 0], x.astype(np.float32))


def test_dotted_names_subsets_and_families(tmp_path, writers, monkeypatch):
    folder = tmp_path / "a,b"  # a comma in the path: only trailing key=N items are options
    made = writers.mnist_like(folder)
    for stem, path in made["paths"].items():
        path.rename(folder / stem.replace("-idx", ".idx"))
    ds = load_idx(f"{folder},train=7,test=4")
    assert len(ds.x_train) == 7 and len(ds.x_test) == 4
    np.testing.assert_array_equal(ds.y_train, made["arrays"][TRAIN_Y][:7])
    assert load_fashion_mnist(str(folder)).name == f"fashion-mnist:{folder}"
    monkeypatch.setenv("XPUSIM_MNIST", str(folder))
    assert len(load_mnist("train=5").x_train) == 5  # the folder from the environment
    monkeypatch.delenv("XPUSIM_MNIST")
    with pytest.raises(DataError, match=r"needs a folder: --dataset mnist:PATH \(or set "
                                        r"\$XPUSIM_MNIST\)"):
        load_mnist(None)


def _replace(writers, made, stem, array, **kw):
    writers.write_idx(made["paths"][stem], array, **kw)


# Each hostile folder: (what it changes, expected message); the file named must appear.
HOSTILE = {
    "extra labels": (lambda w, m: _replace(w, m, TRAIN_Y, np.zeros(31, np.uint8)),
                     TRAIN_Y, r"holds 31 labels but train-images-idx3-ubyte holds 30 images"),
    "missing labels": (lambda w, m: _replace(w, m, TEST_Y, np.zeros(9, np.uint8)),
                       TEST_Y, r"holds 9 labels but t10k-images-idx3-ubyte holds 10 images"),
    "label -1": (lambda w, m: _replace(w, m, TRAIN_Y, np.r_[np.arange(29) % 3, -1].astype(np.int8)),
                 TRAIN_Y, r"labels must be >= 0, label 29 is -1"),
    "fractional label": (lambda w, m: _replace(w, m, TRAIN_Y, np.r_[np.arange(29) % 3, 1.5]
                                                 .astype(np.float32)),
                         TRAIN_Y, r"labels must be whole numbers, label 29 is 1.5"),
    "NaN feature": (lambda w, m: _replace(w, m, TEST_X, np.where(
        np.arange(200).reshape(10, 4, 5) == 47, np.nan, 0.5).astype(np.float32)),
                    TEST_X, r"NaN or infinity \(first at index \(2, 1, 2\)\)"),
    "float pixel above 1": (lambda w, m: _replace(w, m, TEST_X, np.full((10, 4, 5), 2.0)),
                            TEST_X, r"floating-point pixels must lie in \[0, 1\], found \[2, 2\]"),
    "integer pixel above 255": (lambda w, m: _replace(w, m, TRAIN_X, np.full((30, 4, 5), 300,
                                                                             np.int16)),
                                TRAIN_X, r"grey levels 0..255, found 300..300"),
    "single class": (lambda w, m: (_replace(w, m, TRAIN_Y, np.full(30, 2, np.uint8)),
                                   _replace(w, m, TEST_Y, np.full(10, 2, np.uint8))),
                     TRAIN_Y, r"every training label is 2; a classifier needs at least two"),
    "test class unseen in training": (lambda w, m: _replace(w, m, TEST_Y,
                                                            np.full(10, 7, np.uint8)),
                                      TEST_Y, r"test class 7 never occurs in .*train-labels"),
    "skipped class": (lambda w, m: (_replace(w, m, TRAIN_Y, (np.arange(30) % 2 * 2)
                                             .astype(np.uint8)),
                                    _replace(w, m, TEST_Y, np.zeros(10, np.uint8))),
                      TRAIN_Y, r"no training label is 1 \(classes are numbered 0..2 and each"),
    "empty train split": (lambda w, m: (_replace(w, m, TRAIN_X, np.zeros((0, 4, 5), np.uint8)),
                                        _replace(w, m, TRAIN_Y, np.zeros(0, np.uint8))),
                          TRAIN_X, r"holds no images \(header count is 0\)"),
    "empty test split": (lambda w, m: (_replace(w, m, TEST_X, np.zeros((0, 4, 5), np.uint8)),
                                       _replace(w, m, TEST_Y, np.zeros(0, np.uint8))),
                         TEST_X, r"holds no images"),
    "zero-pixel images": (lambda w, m: _replace(w, m, TRAIN_X, np.zeros((30, 0, 5), np.uint8)),
                          TRAIN_X, r"images of 0 x 5 pixels hold no pixels"),
    "0-dimensional header": (lambda w, m: _replace(w, m, TRAIN_X, np.zeros(0, np.uint8), dims=()),
                             TRAIN_X, r"IDX header declares 0 dimensions"),
    "2-D labels": (lambda w, m: _replace(w, m, TRAIN_Y, np.zeros((30, 2), np.uint8)),
                   TRAIN_Y, r"one number per sample \(1 dimension\), the file has 2 dimensions"),
    "flat images": (lambda w, m: _replace(w, m, TRAIN_X, np.zeros((30, 20), np.uint8)),
                    TRAIN_X, r"3 dimensions \(count, rows, columns\), its header declares 2"),
    "train and test image sizes differ": (lambda w, m: _replace(w, m, TEST_X,
                                                                np.zeros((10, 5, 4), np.uint8)),
                                          TEST_X, r"test images are 5 x 4 pixels but "
                                                  r"train-images-idx3-ubyte holds 4 x 5"),
    "header says more than the file holds": (
        lambda w, m: _replace(w, m, TRAIN_X, np.zeros((30, 4, 5), np.uint8), dims=(31, 4, 5)),
        TRAIN_X, r"IDX header says \(31, 4, 5\) \(620 values of 1 byte\(s\)\), file holds 600"),
    "bad magic": (lambda w, m: m["paths"][TRAIN_Y].write_bytes(b"\x01\x02\x03\x04rest"),
                  TRAIN_Y, r"not an IDX file \(bad magic number 01020304\)"),
    "cut header": (lambda w, m: m["paths"][TRAIN_Y].write_bytes(b"\x00\x00\x08\x03\x00\x00"),
                   TRAIN_Y, r"IDX header is cut short \(declares 3 dimensions\)"),
    "tiny file": (lambda w, m: m["paths"][TEST_Y].write_bytes(b"\x00"),
                  TEST_Y, r"not an IDX file \(only 1 bytes\)"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_idx_files_give_one_clear_error_naming_the_file(tmp_path, writers, case):
    made = writers.mnist_like(tmp_path)
    change, stem, message = HOSTILE[case]
    change(writers, made)
    with pytest.raises(DataError, match=message) as err:
        load_idx(str(tmp_path))
    assert str(tmp_path / stem) in str(err.value)


def test_truncated_gzip_is_a_data_error_not_an_abort(tmp_path, writers, capsys):
    made = writers.mnist_like(tmp_path, zipped=True)
    path = made["paths"][TRAIN_X]
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"damaged or truncated gzip file"):
        read_idx(path)
    code = entry(["run", "--dataset", f"idx:{tmp_path}", "--model", "mlp:20-8-3",
                  "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and f"{path}: damaged or truncated gzip file" in err
    assert "Traceback" not in err and "aborted" not in err


@pytest.mark.parametrize("arg,message", [
    ("{d},train=31", r"train=31 asks for 31 samples; it holds 30 \(give 1..30\)"),
    ("{d},test=0", r"test=0 asks for 0 samples"),
    ("{d},train=x", r"option train='x' must be a whole number"),
    ("{d},size=3", r"unknown option 'size' \(options: train, test\)"),
    ("{d},train=3,train=4", r"option 'train' given twice"),
    ("{d}/nope", r"folder '.*nope' does not exist"),
])
def test_idx_arguments_are_checked(tmp_path, writers, arg, message):
    writers.mnist_like(tmp_path)
    with pytest.raises(DataError, match=message):
        load_idx(arg.format(d=tmp_path))


def test_missing_file_is_named(tmp_path, writers):
    made = writers.mnist_like(tmp_path)
    made["paths"][TEST_Y].unlink()
    with pytest.raises(DataError, match=r"missing t10k-labels-idx1-ubyte \(or "):
        load_idx(str(tmp_path))
