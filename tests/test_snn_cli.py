"""python -m snn: train / eval / trace end to end on a tiny network, and exit status 2 on bad input."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from snn.__main__ import main
from snn.formats import get_format
from snn.idx import write_idx
from snn.model_io import load_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--neurons", "10", "--train-images", "20", "--seed", "4"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "tiny_q8.npz"
    assert main(["train", *TINY, "--format", "q8", "--out", str(path)]) == 0
    return path


def _one_line_error(capsys, fragment):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "error" in err and fragment in err, err
    return err


def test_train_writes_a_labelled_model_in_its_format(trained, tmp_path, capsys):
    model = load_model(trained)
    assert model.params.n_neurons == 10 and model.weight_format == "q8" and model.seed == 4
    q8 = get_format("q8")
    np.testing.assert_array_equal(q8.snap(model.weights), model.weights)  # stored values exactly
    assert (model.labels >= 0).any()
    again = tmp_path / "again.npz"
    assert main(["train", *TINY, "--format", "q8", "--out", str(again)]) == 0
    assert again.read_bytes() == trained.read_bytes()  # same seed -> same bytes
    assert "labelled neurons" in capsys.readouterr().out


def test_eval_prints_accuracy_and_confusion(trained, capsys):
    assert main(["eval", str(trained), "--images", "30", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "confusion matrix" in out and "recall %" in out
    assert main(["eval", str(trained), "--images", "30", "--seed", "1", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    confusion = np.array(res["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 30
    assert res["accuracy"] == pytest.approx(np.trace(confusion) / 30)


def test_trace_writes_a_logical_trace(trained, tmp_path, capsys):
    from traces.logical import read_logical
    out = tmp_path / "w.npz"
    assert main(["trace", str(trained), "--dataflow", "dense", "--images", "3", "--out", str(out)]) == 0
    accesses, meta = read_logical(out)
    assert accesses.size == 3 * 784 and np.all(accesses["n_words"] == 10)
    assert meta["dataflow"] == "dense" and meta["word_bits"] == 8 and meta["n_neurons"] == 10
    assert len(meta["test_images"]) == 3 and "trace file" in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line_and_writes_nothing(trained, tmp_path, capsys):
    out = tmp_path / "out.npz"
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(trained.read_bytes()[:300])
    cases = [
        (["eval", str(tmp_path / "absent.npz")], "no such file"),
        (["trace", str(corrupt), "--out", str(out)], "corrupt"),
        (["eval", str(trained), "--images", "5000"], "only 1000"),
        (["trace", str(trained), "--out", str(tmp_path / "nodir" / "x.npz")], "does not exist"),
        (["trace", str(trained), "--clock-mhz", "-1", "--out", str(out)], "--clock-mhz"),
        (["train", "--idx-dir", str(tmp_path / "nope"), "--out", str(out)], "not a directory"),
    ]
    for argv, fragment in cases:
        assert main(argv) == 2, argv
        _one_line_error(capsys, fragment)
    assert not out.exists()
    before = trained.read_bytes()
    assert main(["trace", str(trained), "--out", str(trained)]) == 2
    _one_line_error(capsys, "refusing to overwrite the input")
    assert trained.read_bytes() == before
    for argv in (["eval", str(trained), "--images", "0"], ["train", "--format", "q4", "--out", str(out)],
                 ["trace", str(trained)]):
        assert main(argv) == 2, argv      # usage errors: one line too, no SystemExit out of main
        _one_line_error(capsys, {"eval": "--images", "train": "--format", "trace": "--out"}[argv[0]])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.npz"]


def test_train_from_idx_dir_with_a_corrupt_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (12, 28, 28)))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(12) % 10)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (4, 28, 28)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x04\x01\x02")
    out = tmp_path / "m.npz"
    assert main(["train", "--neurons", "10", "--idx-dir", str(tmp_path), "--out", str(out)]) == 2
    _one_line_error(capsys, "t10k-labels-idx1-ubyte: truncated")
    assert not out.exists()
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 2, 3, 4]))
    assert main(["train", "--neurons", "10", "--idx-dir", str(tmp_path), "--out", str(out)]) == 0
    assert load_model(out).params.n_neurons == 10


def test_module_entry_point_help():
    res = subprocess.run([sys.executable, "-m", "snn", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0 and "examples:" in res.stdout and "trace" in res.stdout
    res = subprocess.run([sys.executable, "-m", "snn", "eval"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2 and "MODEL.npz" in res.stderr
