"""Data sources, splits and data/spec compatibility (small generated data + the embedded MNIST)."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from netspec.data import Dataset, Split, check_compatible, load_data, split_validation
from netspec.data import cifar10 as cifar_module
from netspec.data import mnist as mnist_module
from netspec.data.dataset import conform
from netspec.data.mnist import EMBEDDED, parse_idx
from netspec.diagnostics import NetspecError

MNIST_SHAPE = (28, 28, 1)


def codes(error: pytest.ExceptionInfo[NetspecError]) -> list[str]:
    return [d.code for d in error.value.diagnostics]


# --- the embedded MNIST test split ---------------------------------------------------------------


def test_embedded_mnist_files_match_their_md5sums():
    listed = dict(
        line.split()[::-1] for line in (EMBEDDED / "MD5SUMS").read_text().splitlines() if line.strip()
    )
    assert set(listed) == {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
    for name, md5 in listed.items():
        assert hashlib.md5((EMBEDDED / name).read_bytes()).hexdigest() == md5


def test_embedded_mnist_parses_to_ten_thousand_digits():
    images = parse_idx(gzip.decompress((EMBEDDED / "t10k-images-idx3-ubyte.gz").read_bytes()), "images")
    labels = parse_idx(gzip.decompress((EMBEDDED / "t10k-labels-idx1-ubyte.gz").read_bytes()), "labels")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,)
    assert set(np.unique(labels)) == set(range(10))
    assert images.max() == 255 and images.min() == 0
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test digits


def test_mnist_offline_falls_back_to_the_embedded_split_and_says_so(tmp_path):
    data = load_data("mnist", input_shape=MNIST_SHAPE, cache_dir=tmp_path, download=False, seed=3)
    assert (len(data.train), len(data.val)) == (9_000, 1_000) and data.test is None
    assert data.train.x.shape == (9_000, 28, 28, 1) and data.train.x.dtype == np.float32
    assert data.train.x.min() >= 0.0 and data.train.x.max() <= 1.0
    assert data.class_names == [str(d) for d in range(10)] and data.task == "classification"
    note = " ".join(data.notes)
    assert "10,000 real images" in note and "9,000 training" in note and "1,000 validation" in note
    assert "not the full 60,000-image training set" in note and str(tmp_path / "mnist") in note
    assert "embedded" in data.name
    # stratified: every digit keeps about 10% of its examples in validation
    val_counts, all_counts = (
        np.bincount(data.val.y, minlength=10),
        np.bincount(np.concatenate([data.train.y, data.val.y]), minlength=10),
    )
    assert np.all(np.abs(val_counts - all_counts * 0.1) <= 1)


@pytest.mark.parametrize("input_shape", [(28, 28), (784,)])
def test_mnist_reshapes_to_flat_or_channelless_inputs(tmp_path, input_shape):
    data = load_data("mnist", input_shape=input_shape, cache_dir=tmp_path, download=False, val_split=0.0)
    assert data.train.x.shape == (10_000, *input_shape) and data.val is None


def _pretend_t10k_is_the_training_set(monkeypatch):
    """Let the (embedded) t10k files pass the checks of the training files, which we cannot ship."""
    for kind in ("images-idx3", "labels-idx1"):
        for table in (mnist_module.GZ_MD5, mnist_module.CONTENT_SHA256):
            monkeypatch.setitem(table, f"train-{kind}-ubyte", table[f"t10k-{kind}-ubyte"])


@pytest.mark.parametrize("compressed", [True, False])
def test_mnist_reads_verified_files_from_the_cache(tmp_path, monkeypatch, compressed):
    _pretend_t10k_is_the_training_set(monkeypatch)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for kind in ("images-idx3", "labels-idx1"):
        content = (EMBEDDED / f"t10k-{kind}-ubyte.gz").read_bytes()
        if compressed:
            (folder / f"train-{kind}-ubyte.gz").write_bytes(content)
        else:
            (folder / f"train-{kind}-ubyte").write_bytes(gzip.decompress(content))
    data = load_data("mnist", input_shape=MNIST_SHAPE, cache_dir=tmp_path, download=False)
    assert data.name == "mnist" and data.notes == []
    assert (len(data.train), len(data.val), len(data.test)) == (9_000, 1_000, 10_000)


def test_mnist_rejects_a_cached_file_with_the_wrong_checksum(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for kind in ("images-idx3", "labels-idx1"):  # real files, but the test split, not the training split
        shutil.copy(EMBEDDED / f"t10k-{kind}-ubyte.gz", folder / f"train-{kind}-ubyte.gz")
    with pytest.raises(NetspecError) as error:
        load_data("mnist", input_shape=MNIST_SHAPE, cache_dir=tmp_path, download=False)
    assert codes(error) == ["data-checksum"]
    assert "train-images-idx3-ubyte" in str(error.value) and "hint:" in str(error.value)


def test_mnist_reports_an_unreadable_cached_file(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08 truncated")
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    with pytest.raises(NetspecError) as error:
        load_data("mnist", input_shape=MNIST_SHAPE, cache_dir=tmp_path, download=False)
    assert codes(error) == ["data-corrupt"]


def test_idx_parser_rejects_truncated_and_foreign_files():
    header = (2051).to_bytes(4, "big") + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    with pytest.raises(NetspecError, match="truncated"):
        parse_idx(header + bytes(28 * 28), "short")
    with pytest.raises(NetspecError, match="not an MNIST IDX file"):
        parse_idx(b"PK\x03\x04 a zip file", "zip")
    assert parse_idx(header + bytes(2 * 28 * 28), "ok").shape == (2, 28, 28)


def _mirror(tmp_path: Path, corrupt: bool) -> str:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for kind in ("images-idx3", "labels-idx1"):
        content = (EMBEDDED / f"t10k-{kind}-ubyte.gz").read_bytes()
        (mirror / f"train-{kind}-ubyte.gz").write_bytes(content[:-10] if corrupt else content)
    return mirror.as_uri() + "/"


def test_mnist_downloads_verifies_and_moves_files_into_the_cache(tmp_path, monkeypatch):
    _pretend_t10k_is_the_training_set(monkeypatch)
    monkeypatch.setattr(
        mnist_module, "MIRRORS", ["http://127.0.0.1:9/unreachable/", _mirror(tmp_path, False)]
    )
    cache = tmp_path / "cache"
    data = load_data("mnist", input_shape=MNIST_SHAPE, cache_dir=cache, download=True)
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    assert data.name == "mnist" and "Downloaded" in data.notes[0] and len(data.test) == 10_000


def test_mnist_download_with_a_bad_checksum_leaves_nothing_and_falls_back(tmp_path, monkeypatch):
    _pretend_t10k_is_the_training_set(monkeypatch)
    monkeypatch.setattr(mnist_module, "MIRRORS", [_mirror(tmp_path, True)])
    cache = tmp_path / "cache"
    data = load_data("mnist", input_shape=MNIST_SHAPE, cache_dir=cache, download=True)
    assert list((cache / "mnist").iterdir()) == []  # no partial or unverified file is left behind
    assert "embedded" in data.name and "download failed" in data.notes[0] and "checksum" in data.notes[0]


# --- CIFAR-10 --------------------------------------------------------------------------------------


def _cifar_batch(count: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
        b"labels": (np.arange(count) % 10).tolist(),
    }


def _fake_cifar(folder: Path, per_batch: int = 20) -> dict[str, dict]:
    folder.mkdir(parents=True)
    batches = {f"data_batch_{i}": _cifar_batch(per_batch, i) for i in range(1, 6)}
    batches["test_batch"] = _cifar_batch(10, 99)
    batches["batches.meta"] = {b"label_names": [name.encode() for name in "abcdefghij"]}
    for name, content in batches.items():
        (folder / name).write_bytes(pickle.dumps(content, protocol=2))
    return batches


def test_cifar10_reads_an_unpacked_batch_folder(tmp_path):
    batches = _fake_cifar(tmp_path / "cifar10" / "cifar-10-batches-py")
    data = load_data("cifar10", input_shape=(32, 32, 3), cache_dir=tmp_path, download=False, val_split=0.2)
    assert (len(data.train), len(data.val), len(data.test)) == (80, 20, 10)
    assert data.class_names == list("abcdefghij")
    test_rows = batches["test_batch"][b"data"]
    # rows are R, G, B planes of 32×32: channel c of pixel (i, j) is row[c*1024 + i*32 + j]
    np.testing.assert_allclose(
        data.test.x[3, 5, 7], test_rows[3, [5 * 32 + 7, 1024 + 5 * 32 + 7, 2048 + 5 * 32 + 7]] / 255
    )
    assert data.test.y.tolist() == list(range(10))
    assert "differ from the official release" in data.notes[0]
    # the test split never leaks into training or validation
    seen = {row.tobytes() for row in np.concatenate([data.train.x, data.val.x])}
    assert not any(image.tobytes() in seen for image in data.test.x)


def test_cifar10_reads_the_archive_in_place_after_checking_its_md5(tmp_path, monkeypatch):
    _fake_cifar(tmp_path / "build" / "cifar-10-batches-py")
    archive = tmp_path / "cache" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "build" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    with pytest.raises(NetspecError) as error:
        load_data("cifar10", input_shape=(32, 32, 3), cache_dir=tmp_path / "cache", download=False)
    assert codes(error) == ["data-checksum"]
    monkeypatch.setattr(cifar_module, "ARCHIVE_MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    data = load_data("cifar10", input_shape=(32, 32, 3), cache_dir=tmp_path / "cache", download=False)
    assert (
        len(data.train) + len(data.val) == 100 and not (tmp_path / "cache" / "cifar-10-batches-py").exists()
    )


def test_cifar10_missing_says_where_to_put_the_files(tmp_path):
    with pytest.raises(NetspecError) as error:
        load_data("cifar10", input_shape=(32, 32, 3), cache_dir=tmp_path, download=False)
    assert codes(error) == ["data-not-found"]
    assert "cifar-10-python.tar.gz" in error.value.diagnostics[0].hint
    assert str(tmp_path / "cifar10") in error.value.diagnostics[0].hint


class _Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_cifar10_refuses_pickles_that_would_run_code(tmp_path, capsys):
    folder = tmp_path / "cifar-10-batches-py"
    _fake_cifar(folder)
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": _Exploit(), b"labels": []}))
    with pytest.raises(NetspecError) as error:
        load_data("cifar10", input_shape=(32, 32, 3), cache_dir=tmp_path, download=False)
    assert codes(error) == ["data-corrupt"] and "refusing" in str(error.value)
    assert "pwned" not in capsys.readouterr().out


# --- folder:PATH ------------------------------------------------------------------------------------

COLOURS = {"blue": (0, 0, 255), "red": (255, 0, 0)}


def _image_folder(root: Path, per_class: int, size=(12, 10), colours=COLOURS) -> None:
    for name, colour in colours.items():
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            Image.new("RGB", size, colour).save(root / name / f"{index}.png")


def test_folder_reads_one_subfolder_per_class_resized_to_the_input(tmp_path):
    _image_folder(tmp_path / "pets", per_class=5)
    data = load_data(f"folder:{tmp_path / 'pets'}", input_shape=(6, 8, 3), val_split=0.2)
    assert data.class_names == ["blue", "red"] and data.task == "classification"
    assert data.train.x.shape == (8, 6, 8, 3) and len(data.val) == 2
    assert sorted(data.val.y.tolist()) == [0, 1]  # stratified
    reds = data.train.x[data.train.y == 1]
    np.testing.assert_allclose(reds[..., 0], 1.0)
    np.testing.assert_allclose(reds[..., 2], 0.0)


def test_folder_converts_to_grayscale_for_one_channel(tmp_path):
    _image_folder(tmp_path / "pets", per_class=2)
    data = load_data(f"folder:{tmp_path / 'pets'}", input_shape=(4, 4, 1), val_split=0.0)
    assert data.train.x.shape == (4, 4, 4, 1)
    # ITU-R 601 luma of pure red (0.299) and pure blue (0.114)
    assert data.train.x[data.train.y == 1].mean() == pytest.approx(76 / 255, abs=1e-6)
    assert data.train.x[data.train.y == 0].mean() == pytest.approx(29 / 255, abs=1e-6)


def test_folder_uses_train_validation_test_subfolders_when_present(tmp_path):
    _image_folder(tmp_path / "data" / "train", per_class=4)
    _image_folder(tmp_path / "data" / "validation", per_class=2)
    _image_folder(tmp_path / "data" / "test", per_class=1)
    data = load_data(f"folder:{tmp_path / 'data'}", input_shape=(5, 5, 3))
    assert (len(data.train), len(data.val), len(data.test)) == (8, 4, 2)
    assert data.class_names == ["blue", "red"]


def test_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(NetspecError) as error:
        load_data(f"folder:{tmp_path / 'nowhere'}", input_shape=(5, 5, 3))
    assert codes(error) == ["data-not-found"]

    _image_folder(tmp_path / "one", per_class=2, colours={"only": (1, 2, 3)})
    with pytest.raises(NetspecError) as error:
        load_data(f"folder:{tmp_path / 'one'}", input_shape=(5, 5, 3))
    assert codes(error) == ["data-classes"]

    _image_folder(tmp_path / "bad", per_class=2)
    (tmp_path / "bad" / "red" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(NetspecError) as error:
        load_data(f"folder:{tmp_path / 'bad'}", input_shape=(5, 5, 3))
    assert codes(error) == ["data-corrupt"] and "broken.jpg" in str(error.value)

    _image_folder(tmp_path / "split" / "train", per_class=2)
    _image_folder(tmp_path / "split" / "val", per_class=1, colours={"green": (0, 255, 0)})
    with pytest.raises(NetspecError) as error:
        load_data(f"folder:{tmp_path / 'split'}", input_shape=(5, 5, 3))
    assert codes(error) == ["data-classes"] and "green" in str(error.value)

    with pytest.raises(NetspecError) as error:
        load_data(f"folder:{tmp_path / 'split'}", input_shape=(48,))
    assert codes(error) == ["data-shape"]


# --- npz:PATH ---------------------------------------------------------------------------------------


def test_npz_single_set_is_split_and_uint8_scaled(tmp_path):
    x = np.full((50, 4, 4), 255, dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(50) % 5)
    data = load_data(f"npz:{tmp_path / 'd.npz'}", input_shape=(4, 4, 1), val_split=0.2)
    assert data.train.x.shape == (40, 4, 4, 1) and data.train.x.max() == 1.0
    assert data.class_names == ["0", "1", "2", "3", "4"] and np.bincount(data.val.y).tolist() == [2] * 5
    assert data.test is None


def test_npz_named_splits_one_hot_labels_and_class_names(tmp_path):
    rng = np.random.default_rng(0)
    one_hot = np.eye(3)[np.arange(12) % 3]
    np.savez(
        tmp_path / "d.npz",
        x_train=rng.normal(size=(12, 6)).astype(np.float32),
        y_train=one_hot,
        x_val=rng.normal(size=(3, 6)),
        y_val=np.eye(3),
        x_test=rng.normal(size=(3, 6)),
        y_test=np.array([2, 1, 0]),
        class_names=np.array(["cat", "dog", "bird"]),
    )
    data = load_data(f"npz:{tmp_path / 'd.npz'}", input_shape=(6,))
    assert (len(data.train), len(data.val), len(data.test)) == (12, 3, 3)
    assert data.train.y.tolist() == (np.arange(12) % 3).tolist() and data.train.y.dtype == np.int32
    assert data.class_names == ["cat", "dog", "bird"] and data.test.y.tolist() == [2, 1, 0]


def test_npz_bottleneck_features_as_netspec_features_writes_them(tmp_path):
    features = np.random.default_rng(1).normal(size=(20, 4, 4, 512)).astype(np.float32)
    np.savez(
        tmp_path / "f.npz",
        features=features,
        labels=np.repeat([0, 1], 10),
        class_names=np.array(["cats", "dogs"]),
    )
    data = load_data(f"npz:{tmp_path / 'f.npz'}", input_shape=(4, 4, 512), val_split=0.1)
    assert data.class_names == ["cats", "dogs"] and data.train.x.shape == (18, 4, 4, 512)
    np.testing.assert_array_equal(
        np.sort(np.concatenate([data.train.x, data.val.x]).ravel()), np.sort(features.ravel())
    )


def test_npz_float_targets_are_regression(tmp_path):
    np.savez(tmp_path / "r.npz", x=np.zeros((10, 3), np.float32), y=np.linspace(0, 1, 10))
    data = load_data(f"npz:{tmp_path / 'r.npz'}", input_shape=(3,), val_split=0.0)
    assert data.task == "regression" and data.class_names is None and data.train.y.shape == (10, 1)


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "no_y.npz", x=np.zeros((3, 2)))
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "garbage.npz").write_bytes(b"garbage")
    expected = {
        "no_y.npz": "data-keys",
        "objects.npz": "data-corrupt",
        "single.npy": "data-corrupt",
        "garbage.npz": "data-corrupt",
        "missing.npz": "data-not-found",
    }
    for name, code in expected.items():
        with pytest.raises(NetspecError) as error:
            load_data(f"npz:{tmp_path / name}", input_shape=(2,))
        assert codes(error) == [code], name


# --- csv:PATH time series -----------------------------------------------------------------------------


def _write_csv(path: Path, rows: int, header: bool = True, date: bool = True) -> None:
    lines = ["date,value"] if header else []
    lines += [f"2020-01-{i:03d},{i}" if date else str(i) for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")


def test_csv_sequence_to_sequence_targets_are_the_series_shifted_by_the_horizon(tmp_path):
    _write_csv(tmp_path / "s.csv", 100)
    data = load_data(
        f"csv:{tmp_path / 's.csv'}", input_shape=(8, 1), output_shape=(8, 1), val_split=0.2, horizon=2
    )
    assert data.task == "regression" and data.train.x.shape[1:] == (8, 1) and data.train.y.shape[1:] == (8, 1)
    np.testing.assert_array_equal(data.train.y, data.train.x + 2)  # row value == time index
    assert "Ignored non-numeric columns" in data.notes[0] and "date" in data.notes[0]
    # chronological: every validation target comes after every training target
    assert data.train.y.max() < 80 <= data.val.y.min()
    # targets of window s are rows s+2 .. s+9: training needs s+9 < 80, validation 80 <= s+2 and s+9 < 100
    assert len(data.train) == 71 and len(data.val) == 13
    assert data.val.x.min() == 78  # validation inputs may reach back into the (known) history


def test_csv_forecast_targets_follow_a_vector_output(tmp_path):
    _write_csv(tmp_path / "s.csv", 50, header=False, date=False)
    data = load_data(
        f"csv:{tmp_path / 's.csv'}", input_shape=(10,), output_shape=(3,), horizon=3, val_split=0.0
    )
    assert data.train.x.shape == (38, 10) and data.train.y.shape == (38, 3)
    np.testing.assert_array_equal(data.train.y[0], [10, 11, 12])
    np.testing.assert_array_equal(data.train.y[:, 0], data.train.x[:, -1] + 1)


def test_csv_header_is_detected_only_above_numbers(tmp_path):
    _write_csv(tmp_path / "dated.csv", 30, header=False, date=True)  # first row "2020-01-000,0" is data
    data = load_data(f"csv:{tmp_path / 'dated.csv'}", input_shape=(5,), output_shape=(1,), val_split=0.0)
    assert data.train.x[0].tolist() == [0, 1, 2, 3, 4] and len(data.train) == 25


def test_csv_multivariate_predicts_the_last_column(tmp_path):
    rows = "\n".join(f"{i % 7},{100 + i},{1000 + i}" for i in range(30))  # a leading 0, 1, 2... is an index
    (tmp_path / "m.csv").write_text("a,b,target\n" + rows)
    data = load_data(f"csv:{tmp_path / 'm.csv'}", input_shape=(5, 3), output_shape=(1,), val_split=0.0)
    assert data.train.x.shape == (25, 5, 3)
    np.testing.assert_array_equal(data.train.y[:, 0], data.train.x[:, -1, 2] + 1)


def test_csv_errors_point_at_the_row(tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(NetspecError) as error:
        load_data(f"csv:{tmp_path / 'bad.csv'}", input_shape=(1, 2))
    span = error.value.diagnostics[0].span
    assert (span.line, span.col, span.length) == (3, 3, 4) and "oops" in str(error.value)

    _write_csv(tmp_path / "short.csv", 10)
    with pytest.raises(NetspecError) as error:
        load_data(f"csv:{tmp_path / 'short.csv'}", input_shape=(16, 1))
    assert codes(error) == ["data-window"]


# --- synthetic ----------------------------------------------------------------------------------------


def test_synthetic_classification_is_seeded_balanced_and_learnable():
    first = load_data("synthetic:600", input_shape=(8, 8, 3), output_shape=(4,), seed=5)
    again = load_data("synthetic:600", input_shape=(8, 8, 3), output_shape=(4,), seed=5)
    np.testing.assert_array_equal(first.train.x, again.train.x)
    assert first.class_names == ["class 0", "class 1", "class 2", "class 3"]
    assert (len(first.train), len(first.val), len(first.test)) == (540, 60, 60)
    assert np.bincount(first.train.y).tolist() == [135] * 4
    # nearest class mean (fitted on train) classifies held-out data far above chance
    means = np.stack([first.train.x[first.train.y == k].mean(0) for k in range(4)])
    distances = ((first.test.x[:, None] - means[None]) ** 2).sum(axis=(2, 3, 4))
    assert (distances.argmin(1) == first.test.y).mean() > 0.9


def test_synthetic_sine_is_a_windowed_regression_series():
    data = load_data("synthetic:sine:500", input_shape=(16, 1), output_shape=(16, 1), val_split=0.2)
    assert (
        data.task == "regression" and data.train.x.shape[1:] == (16, 1) and data.train.y.shape[1:] == (16, 1)
    )
    np.testing.assert_array_equal(data.train.y[:, :-1], data.train.x[:, 1:])


# --- splits ------------------------------------------------------------------------------------------


def test_stratified_split_is_disjoint_complete_proportional_and_seeded():
    labels = np.repeat(np.arange(3), [50, 30, 20]).astype(np.int32)
    split = Split(np.arange(100, dtype=np.float32)[:, None], labels)
    train, val = split_validation(split, 0.2, seed=1, stratify=True)
    assert sorted(np.concatenate([train.x, val.x]).ravel().tolist()) == list(range(100))
    assert np.bincount(val.y).tolist() == [10, 6, 4]
    same, _ = split_validation(split, 0.2, seed=1, stratify=True)
    other, _ = split_validation(split, 0.2, seed=2, stratify=True)
    np.testing.assert_array_equal(train.x, same.x)
    assert not np.array_equal(train.x, other.x)


# --- compatibility ------------------------------------------------------------------------------------


def _classes(count: int, shape=(8, 8, 1)) -> Dataset:
    split = Split(np.zeros((count, *shape), np.float32), np.arange(count, dtype=np.int32) % count)
    return Dataset("toy", split, None, None, [str(k) for k in range(count)], "classification", [])


def _check(dataset, input_shape, output_shape, loss="cross_entropy"):
    return [
        (d.severity, d.code)
        for d in check_compatible(dataset, input_shape, output_shape, spec_name="net", loss=loss)
    ]


def test_compatible_data_has_no_findings():
    assert _check(_classes(10), (8, 8, 1), (10,)) == []
    assert _check(_classes(2), (8, 8, 1), (1,), "binary_cross_entropy") == []


def test_input_shape_and_channel_mismatches_name_both_sides():
    found = check_compatible(
        _classes(10, (32, 32, 3)), (28, 28, 1), (10,), spec_name="lenet", loss="cross_entropy"
    )
    assert [d.code for d in found] == ["data-input-shape"]
    assert (
        "(32, 32, 3)" in found[0].message
        and "(28, 28, 1)" in found[0].message
        and "lenet" in found[0].message
    )
    found = check_compatible(
        _classes(10, (32, 32, 3)), (32, 32, 1), (10,), spec_name="net", loss="cross_entropy"
    )
    assert "3-channel" in found[0].message and "1 channels" in found[0].message


def test_class_count_against_the_output_layer():
    found = check_compatible(_classes(10), (8, 8, 1), (2,), spec_name="net", loss="cross_entropy")
    assert [d.code for d in found] == ["data-classes"] and "10 classes" in found[0].message
    assert "units: 10" in found[0].hint
    assert _check(_classes(3), (8, 8, 1), (10,)) == [("warning", "data-classes")]
    assert _check(_classes(10), (8, 8, 1), (1,), "binary_cross_entropy") == [("error", "data-classes")]
    assert _check(_classes(2), (8, 8, 1), (2,), "binary_cross_entropy") == [("error", "data-classes")]
    assert _check(_classes(2), (8, 8, 1), (1,)) == [("error", "data-classes")]
    assert _check(_classes(4), (8, 8, 1), (6, 6, 4)) == [("error", "data-classes")]


def test_loss_and_target_mismatches():
    assert _check(_classes(4), (8, 8, 1), (4,), "mse") == [("error", "data-loss")]
    series = load_data("synthetic:sine:300", input_shape=(16, 1), output_shape=(16, 1))
    assert _check(series, (16, 1), (16, 1), "mse") == []
    assert _check(series, (16, 1), (16, 1), "cross_entropy") == [("error", "data-loss")]
    found = check_compatible(series, (16, 1), (1,), spec_name="tcn", loss="mse")
    assert [d.code for d in found] == ["data-target-shape"] and "(16, 1)" in found[0].message
    assert "(1,)" in found[0].message and "--horizon" in found[0].hint


# --- sources, shapes and the static path --------------------------------------------------------------


def test_unknown_sources_and_bad_arguments_are_diagnostics():
    with pytest.raises(NetspecError) as error:
        load_data("mnsit", input_shape=MNIST_SHAPE)
    assert codes(error) == ["data-source"] and "did you mean 'mnist'?" in error.value.diagnostics[0].hint
    for source in ("folder", "npz:", "synthetic:many"):
        with pytest.raises(NetspecError):
            load_data(source, input_shape=MNIST_SHAPE)
    with pytest.raises(NetspecError) as error:
        load_data("synthetic", input_shape=MNIST_SHAPE, val_split=1.5)
    assert codes(error) == ["data-val-split"]


def test_conform_only_reshapes_when_it_cannot_change_meaning():
    assert conform(np.zeros((2, 28, 28)), (28, 28, 1)).shape == (2, 28, 28, 1)
    assert conform(np.zeros((2, 28, 28, 1)), (784,)).shape == (2, 784)
    assert conform(np.zeros((2, 784)), (28, 28, 1)).shape == (2, 784)
    assert conform(np.zeros((2, 32, 32, 3)), (3, 32, 32)).shape == (2, 32, 32, 3)
