"""The benchmark's table: medians, the ratio of medians, and the same ratio within each repetition."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench


def test_the_table_shows_each_repetitions_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    ours = bench.Program("ours", "ours", [], runs=[{"eps": 20.0, "seconds": 3.0, "rss_mb": 200.0},
                                                  {"eps": 30.0, "seconds": 2.0, "rss_mb": 200.0},
                                                  {"eps": 25.0, "seconds": 2.4, "rss_mb": 200.0}])
    naive = bench.Program("naive", "naive", [], runs=[{"eps": 10.0, "seconds": 6.0, "rss_mb": 300.0},
                                                     {"eps": 20.0, "seconds": 3.0, "rss_mb": 300.0},
                                                     {"eps": 12.5, "seconds": 4.8, "rss_mb": 300.0}])
    sk = bench.Program("sk-lbfgs", "lbfgs", [], runs=[{"seconds": 9.0, "rss_mb": 400.0},
                                                     {"seconds": 8.0, "rss_mb": 400.0},
                                                     {"seconds": 12.0, "rss_mb": 400.0}])
    bench.report([ours, naive, sk])
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    # medians 25 / 12.5 = 2.00x; within repetitions 2.00, 1.50, 2.00
    assert rows["naive"][4:6] == ["2.00x", "1.50-2.00"]
    # fit time over our run: medians 9.0 / 2.4 = 3.75x; within repetitions 3.00, 4.00, 5.00
    assert rows["lbfgs"][4:6] == ["3.75x", "3.00-5.00"]
    assert rows["ours"][5] == "-"


def test_the_floor_ratio_is_shown_within_each_repetition(capsys: pytest.CaptureFixture[str]) -> None:
    ours = bench.Program("ours", "ours", [], runs=[{"eps": 100.0, "rss_mb": 200.0}, {"eps": 80.0, "rss_mb": 200.0},
                                                  {"eps": 50.0, "rss_mb": 200.0}])
    floor = bench.Program("floor", "floor", [], runs=[
        {"read_ms": 5.0, "matmul_ms": 20.0, "compute_ms": 8.0}, {"read_ms": 5.0, "matmul_ms": 20.0, "compute_ms": 10.0},
        {"read_ms": 5.0, "matmul_ms": 20.0, "compute_ms": 10.0}])
    bench.report([ours, floor])
    # medians 12.5 ms / 10 ms = 1.25x; within repetitions 10 / 8, 12.5 / 10, 20 / 10
    assert "12.5 ms an epoch = 2.50x the read, 0.62x the two products, 1.25x the compute floor (each rep 1.25-2.00)" \
        in capsys.readouterr().out


def test_lbfgs_is_compared_with_lbfgs(capsys: pytest.CaptureFixture[str]) -> None:
    """scikit-learn's LogisticRegression against our L-BFGS run (not the SGD run), on the complete test set."""
    ours = bench.Program("ours", "ours", [], runs=[{"eps": 20.0, "seconds": 1.0, "rss_mb": 200.0}])
    lbfgs = bench.Program("ours-lbfgs", "ours-lbfgs", [], runs=[
        {"eps": 50.0, "seconds": 2.0, "rss_mb": 200.0, "test_error": 15.9, "full_test_error": 15.5}])
    sk = bench.Program("sk-lbfgs", "sk", [], runs=[
        {"seconds": 8.0, "rss_mb": 400.0, "test_error": 15.6, "full_test_error": 15.6}])
    bench.report([ours, lbfgs, sk])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["sk"][4] == "4.00x"  # 8.0 / 2.0, not 8.0 / 1.0
    assert ("ours 2.00 s, 15.50 % test error; scikit-learn 8.00 s, 15.60 %: ours takes 0.25 of its time "
            "(each rep 0.25-0.25)") in out
    assert "-0.10 points of test error" in out


def test_the_estimator_is_compared_with_scikit_learn_on_float32_rows(capsys: pytest.CaptureFixture[str]) -> None:
    lbfgs = bench.Program("ours-lbfgs", "ours-lbfgs", [], runs=[
        {"eps": 50.0, "seconds": 2.0, "rss_mb": 200.0, "test_error": 15.9, "full_test_error": 15.5}])
    est = bench.Program("est-lbfgs", "est", [], runs=[{"seconds": 3.0, "rss_mb": 300.0, "test_error": 15.7,
                                                       "full_test_error": 15.7}])
    sk64 = bench.Program("sk-lbfgs", "sk64", [], runs=[{"seconds": 8.0, "rss_mb": 400.0, "test_error": 15.6,
                                                        "full_test_error": 15.6}])
    sk32 = bench.Program("sk-lbfgs-32", "sk32", [], runs=[{"seconds": 9.0, "rss_mb": 400.0, "test_error": 15.65,
                                                           "full_test_error": 15.65}])
    bench.report([lbfgs, est, sk64, sk32])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["sk64"][4] == "4.00x" and rows["sk32"][4] == "3.00x" and rows["est"][4] == "-"
    assert ("est against sk32: ours 3.00 s, 15.70 % test error; scikit-learn 9.00 s, 15.65 %: ours takes 0.33 of "
            "its time (each rep 0.33-0.33), +0.05 points of test error") in out


def test_the_pickle_is_set_beside_the_bytes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The pickle's 30-epoch runs against ours-30 (the IDX bytes) and the compute floor, run by run."""
    ours = bench.Program("ours-30", "bytes", [], runs=[{"eps": 80.0, "rss_mb": 200.0},
                                                       {"eps": 100.0, "rss_mb": 200.0}])
    pkl = bench.Program("ours-pkl-30", "pkl", [], runs=[{"eps": 75.0, "rss_mb": 200.0},
                                                        {"eps": 100.0, "rss_mb": 200.0}])
    floor = bench.Program("floor", "floor", [], runs=[{"read_ms": 5.0, "matmul_ms": 20.0, "compute_ms": 8.0},
                                                      {"read_ms": 5.0, "matmul_ms": 20.0, "compute_ms": 8.0}])
    bench.report([ours, pkl, floor])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["pkl"][4:6] == ["1.03x", "1.00-1.07"]  # medians 90 / 87.5; within repetitions 80/75, 100/100
    assert "pkl: 11.4 ms an epoch" in out and "1.43x the compute floor (each rep 1.25-1.67)" in out


def test_the_pickles_hold_the_data_as_float32_rows(tmp_path: Path) -> None:
    from logistic_sgd.data import byte_grid

    from conftest import make_images, write_idx

    folder = tmp_path / "idx"
    folder.mkdir()
    tx, ty = make_images(120, seed=1)
    for stem, a in (("train-images", tx), ("train-labels", ty), ("t10k-images", tx[:30]), ("t10k-labels", ty[:30])):
        write_idx(folder / f"{stem}-idx{3 if 'images' in stem else 1}-ubyte.gz", a)
    bench.write_pickles(str(folder), tmp_path)
    from logistic_sgd.data.formats.pickle_safe import load_pickle

    (x, y), _, _ = load_pickle(tmp_path / "mnist.pkl.gz")
    assert x.dtype == np.float32 and y.dtype == np.int64 and byte_grid.find_bytes(x) is not None
    assert np.array_equal(x, tx[:100].reshape(100, -1) / np.float32(255))
    for (x, _), _ in zip(load_pickle(tmp_path / "floats.pkl.gz"), range(3), strict=True):
        assert x.dtype == np.float32 and byte_grid.find_bytes(x) is None


@pytest.mark.parametrize("gpu", [None, "NVIDIA H100 80GB HBM3"])
def test_gpu_rows_run_only_with_a_gpu(gpu: str | None, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setattr(bench, "_cuda", lambda: gpu)
    args = bench.argparse.Namespace(data="/data", floatx="float32", only="ours,cuda,cuda-30")
    chosen = [p.key for p in bench.programs(args, tmp_path)]
    if gpu is None:
        assert chosen == ["ours"]
        assert "cuda     not measured: no CUDA GPU here" in capsys.readouterr().out
    else:
        assert chosen == ["ours", "cuda-30", "cuda"]
        argv = next(p.argv for p in bench.programs(args, tmp_path) if p.key == "cuda")
        assert argv[-4:] == ["--backend", "torch", "--device", "cuda"]


def test_every_program_runs_without_the_openblas_pins() -> None:
    """Where the environment pins OpenBLAS to another CPU's kernels, the programs run without the pins."""
    env = bench.child_env({"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "262144", "HOME": "/h",
                           "PYTHONPATH": "/x"})
    assert "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env
    assert env["HOME"] == "/h" and env["PYTHONPATH"].endswith("/x")
    assert env["PYTHONPATH"].startswith(str(bench.ROOT / "src"))


def test_the_header_names_the_cpu_and_the_blas_kernels() -> None:
    cpu = bench.cpu_line()
    if Path("/proc/cpuinfo").exists():
        assert "family" in cpu
    pytest.importorskip("threadpoolctl")
    assert " kernels, " in bench.blas_line() and "threads" in bench.blas_line()
