"""The Python module (python/latentlab) against the CLI it wraps: round trips,
the same bits as `train` for the same config and seed, scikit-learn's
Pipeline and clone, bad inputs, callbacks, Ctrl-C. Run by ctest (Python.*),
or: PYTHONPATH=build/python LATENTLAB_TRAIN_EXE=build/train /usr/bin/python3 -m pytest python/tests
"""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import latentlab as ll

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = os.environ.get("LATENTLAB_TRAIN_EXE", os.path.join(ROOT, "build", "train"))


def low_rank(n=300, d=20, k=3, seed=0, noise=0.01, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k)) @ rng.normal(size=(k, d)) + noise * rng.normal(size=(n, d))
    return X.astype(dtype)


def blobs(n=300, d=10, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, size=n)
    centres = 3 * rng.normal(size=(c, d))
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y


def train(*args, cwd=None):
    """Runs the CLI; returns its stderr (asserting success)."""
    p = subprocess.run([TRAIN, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stderr


def train_error(*args):
    p = subprocess.run([TRAIN, *args], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    return p.stderr.strip()


# --- round trips ---------------------------------------------------------------

def test_autoencoder_round_trip():
    X = low_rank(dtype=np.float32)
    ae = ll.LinearAutoencoder(latent_dim=3, lr=0.01, epochs=40, batch_size=32, seed=0)
    assert ae.fit(X) is ae
    assert ae.components_.shape == (3, 20)
    Z = ae.transform(X)
    assert Z.shape == (300, 3) and Z.dtype == np.float32
    Xr = ae.inverse_transform(Z)
    assert np.mean((Xr - X) ** 2) < 0.01 * np.mean(X ** 2)
    rep = ae.pca_report()
    assert rep["loss_ratio"] < 1.05 and len(rep["principal_angles_deg"]) == 3
    assert rep["max_principal_angle_deg"] < 5
    assert [r["epoch"] for r in ae.history_] == list(range(41))
    assert ae.score(X) == pytest.approx(-np.mean(0.5 * np.sum((Xr - X) ** 2, axis=1)), rel=1e-4)


def test_transform_reads_in_place_and_converts_otherwise():
    X = low_rank(dtype=np.float32)
    ae = ll.LinearAutoencoder(latent_dim=3, epochs=2, seed=1).fit(X)
    Z = ae.transform(X)
    np.testing.assert_allclose(ae.transform(np.asfortranarray(X)), Z)        # converted, same numbers
    np.testing.assert_allclose(ae.transform(X.astype(np.float64)), Z, rtol=1e-6)
    np.testing.assert_allclose(ae.transform(X[::-1])[::-1], Z)
    np.testing.assert_allclose(Z, X @ ae.components_.T, rtol=1e-4, atol=1e-5)


def test_gplvm_round_trip_and_new_rows():
    Y = low_rank(n=80, d=6, k=2, seed=3)
    gp = ll.GPLVM(latent_dim=2, kernel="rbf", max_iterations=30).fit(Y)
    assert gp.latent_.shape == (80, 2)
    assert np.isfinite(gp.log_likelihood_)
    assert gp.log_likelihood_ == pytest.approx(gp.history_[-1]["log_likelihood"])
    # latent_ is in Y's order: the training row rows_[i] is row i of the parameter block
    np.testing.assert_array_equal(gp.latent_[gp.rows_], gp.params_["X"])
    Z = gp.transform(Y[:5])
    assert Z.shape == (5, 2) and gp.last_log_likelihood_.shape == (5,)
    # a training row placed again lands near its own latent point
    assert np.linalg.norm(Z[0] - gp.latent_[0]) < 0.5 * np.linalg.norm(gp.latent_.std(axis=0))


def test_mlp_round_trip_with_any_labels():
    X, y = blobs()
    names = np.array(["a", "b", "c"])[y]
    clf = ll.SwishMLP(hidden=16, epochs=5, lr=0.01, seed=0).fit(X, names)
    assert list(clf.classes_) == ["a", "b", "c"]
    assert clf.predict(X).dtype == names.dtype
    assert clf.score(X, names) > 0.95
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-9)
    assert "train_accuracy" in clf.history_[-1]


# --- the same bits as the CLI --------------------------------------------------

def test_fit_equals_cli_on_the_same_rows(tmp_path):
    X = low_rank(n=500, dtype=np.float32)
    np.save(tmp_path / "X.npy", X)
    ae = ll.LinearAutoencoder(latent_dim=4, lr=0.01, epochs=3, batch_size=64, seed=7).fit(X)
    train("--set", f"data.path={tmp_path / 'X.npy'}", "--set", "model.latent_dim=4", "--set", "optim.lr=0.01",
          "--set", "train.epochs=3", "--set", "train.batch_size=64", "--set", "seed=7", "--out", str(tmp_path / "r"))
    W = np.load(tmp_path / "r" / "W.npy")
    assert W.dtype == ae.components_.dtype
    assert W.tobytes() == ae.components_.tobytes()
    np.testing.assert_array_equal(np.load(tmp_path / "r" / "rows.npy"), ae.rows_)


def test_integer_pixels_are_read_as_the_cli_reads_them(tmp_path):
    X = (255 * np.clip(low_rank(n=200, d=16, seed=4), -1, 1) ** 2).astype(np.uint8)  # scaled by 1/255
    np.save(tmp_path / "X.npy", X)
    ae = ll.LinearAutoencoder(latent_dim=2, epochs=2, seed=1).fit(X)
    assert ae.scale_ == pytest.approx(1 / 255)
    train("--set", f"data.path={tmp_path / 'X.npy'}", "--set", "model.latent_dim=2", "--set", "train.epochs=2",
          "--set", "seed=1", "--out", str(tmp_path / "r"))
    assert np.load(tmp_path / "r" / "W.npy").tobytes() == ae.components_.tobytes()
    np.testing.assert_allclose(ae.transform(X), (X / 255.0) @ ae.components_.T.astype(np.float64), rtol=1e-4,
                               atol=1e-5)


def test_mlp_fit_equals_cli(tmp_path):
    X, y = blobs(n=200)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y.astype(np.int64))
    clf = ll.SwishMLP(hidden=8, epochs=2, lr=0.01, seed=3, options={"data.test_fraction": 0.25}).fit(X, y)
    train("--set", f"data.path={tmp_path / 'X.npy'}", "--set", f"data.labels={tmp_path / 'y.npy'}",
          "--set", "model.type=mlp", "--set", "model.hidden=8", "--set", "model.classes=3", "--set", "optim.lr=0.01",
          "--set", "train.epochs=2", "--set", "train.batch_size=64", "--set", "seed=3",
          "--set", "data.test_fraction=0.25", "--out", str(tmp_path / "r"))
    for name in ("W1", "b1", "W2", "b2"):
        assert np.load(tmp_path / "r" / f"{name}.npy").tobytes() == clf.params_[name].tobytes(), name
    assert clf.summary_["test_accuracy"] == pytest.approx(clf.history_[-1]["test_accuracy"])


def test_fit_config_equals_cli(tmp_path):
    X = low_rank(n=120, d=8, k=2, seed=5)
    np.save(tmp_path / "Y.npy", X)
    cfg = tmp_path / "gp.yaml"
    cfg.write_text(textwrap.dedent(f"""\
        seed: 2
        data:
          path: {tmp_path / 'Y.npy'}
          center: true
        model:
          type: gplvm
          kernel: rbf
          latent_dim: 2
          dtype: float64
          learn_hyperparameters: true
        optim:
          type: lbfgs
          max_iterations: 100
        """))
    gp = ll.fit_config(cfg, overrides={"optim.max_iterations": 15, "data.limit": 100})
    assert isinstance(gp, ll.GPLVM)
    train("--config", str(cfg), "--set", "optim.max_iterations=15", "--set", "data.limit=100",
          "--out", str(tmp_path / "r"))
    assert np.load(tmp_path / "r" / "X.npy").tobytes() == gp.params_["X"].tobytes()
    assert np.load(tmp_path / "r" / "log_hyper.npy").tobytes() == gp.params_["log_hyper"].tobytes()
    import json
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["log_likelihood"] == gp.log_likelihood_
    # the estimator describes the run: clone and fit again on the same rows gives the same bits
    rows = np.load(tmp_path / "r" / "rows.npy")
    again = ll.GPLVM(**gp.get_params()).set_params(options={**gp.options, "data.limit": 0}).fit(X[rows])
    assert again.config_["optim.max_iterations"] == 15


def test_load_run_matches_train_apply(tmp_path):
    X = low_rank(n=200, dtype=np.float32)
    np.save(tmp_path / "X.npy", X)
    train("--set", f"data.path={tmp_path / 'X.npy'}", "--set", "model.latent_dim=3", "--set", "train.epochs=2",
          "--set", "data.center=true", "--out", str(tmp_path / "r"))
    ae = ll.load_run(tmp_path / "r")
    assert isinstance(ae, ll.LinearAutoencoder) and ae.latent_dim == 3 and ae.center is True
    train("apply", str(tmp_path / "r"), "--data", str(tmp_path / "X.npy"), "--out", str(tmp_path / "a"))
    assert ae.transform(X).tobytes() == np.load(tmp_path / "a" / "codes.npy").tobytes()
    assert ae.pca_report()["loss_ratio"] > 1
    np.testing.assert_allclose(ae.inverse_transform(ae.transform(X)) - X,
                               np.load(tmp_path / "a" / "reconstruction.npy") - (X - ae.mean_), atol=1e-4)


# --- scikit-learn --------------------------------------------------------------

def test_sklearn_pipeline_and_clone():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = blobs()
    pipe = make_pipeline(StandardScaler(), ll.LinearAutoencoder(latent_dim=3, epochs=5, lr=0.01, seed=0),
                         LogisticRegression())
    assert pipe.fit(X, y).score(X, y) > 0.9
    ae = pipe.steps[1][1]
    twin = clone(ae)
    assert twin.get_params() == ae.get_params() and not hasattr(twin, "components_")
    twin.set_params(latent_dim=2)
    assert twin.latent_dim == 2 and ae.latent_dim == 3
    with pytest.raises(ValueError, match="Invalid parameter 'latent'"):
        twin.set_params(latent=2)
    clf = clone(ll.SwishMLP(hidden=8, epochs=3, lr=0.01))
    assert make_pipeline(StandardScaler(), clf).fit(X, y).score(X, y) > 0.9
    assert sklearn.base.is_classifier(clf)


# --- bad inputs ----------------------------------------------------------------

def test_bad_arrays_name_the_argument():
    ae = ll.LinearAutoencoder(latent_dim=2, epochs=1)
    with pytest.raises(ValueError, match=r"^X: expected a 2-d array .*got shape \(5,\)"):
        ae.fit(np.ones(5))
    X = low_rank(n=20, d=4)
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"^X: NaN at row 3, column 2$"):
        ae.fit(X)
    with pytest.raises(TypeError, match=r"^X: expected a numeric array .*dtype object"):
        ae.fit(np.array([[1, "a"], [2, "b"]], dtype=object))
    with pytest.raises(TypeError, match=r"^X: .*complex"):
        ae.fit(np.ones((4, 3), dtype=complex))
    ae.fit(low_rank(n=20, d=4))
    with pytest.raises(ValueError, match=r"^X: 5 features, but LinearAutoencoder was fitted with 4"):
        ae.transform(np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"^X: Inf at row 0, column 0"):
        ae.transform(np.full((2, 4), np.inf))
    with pytest.raises(ValueError, match=r"^y: 3 labels for 300 samples"):
        ll.SwishMLP().fit(blobs()[0], [0, 1, 2])
    with pytest.raises(AttributeError, match="not fitted"):
        ll.LinearAutoencoder().transform(X)


def test_library_errors_keep_the_cli_message(tmp_path):
    with pytest.raises(ll.ConfigError) as e:
        ll.LinearAutoencoder(options={"model.latnt_dim": 3}).fit(low_rank(n=20, d=4))
    assert str(e.value) == train_error("--set", "model.latnt_dim=3", "--out", str(tmp_path / "x"))[len("error: "):]
    assert isinstance(e.value, ValueError)
    X = low_rank(n=20, d=4)
    np.save(tmp_path / "X.npy", X)
    with pytest.raises(ValueError) as e:
        ll.LinearAutoencoder(latent_dim=9).fit(X)
    cli = train_error("--set", f"data.path={tmp_path / 'X.npy'}", "--set", "model.latent_dim=9",
                      "--out", str(tmp_path / "y"))
    assert cli.endswith(str(e.value)), (cli, str(e.value))
    with pytest.raises(ll.ConfigError, match="missing.yaml: cannot open: No such file"):
        ll.fit_config(tmp_path / "missing.yaml")


# --- callbacks, progress, the GIL, Ctrl-C ----------------------------------------

def test_callback_sees_every_epoch_and_can_stop():
    seen = []
    ae = ll.LinearAutoencoder(latent_dim=2, epochs=10, callback=lambda r: seen.append(r) or r["epoch"] == 3)
    ae.fit(low_rank(n=50, d=5))
    assert [r["epoch"] for r in seen] == [0, 1, 2, 3]
    assert len(ae.history_) == 4

    def boom(r):
        raise RuntimeError("from the callback")
    with pytest.raises(RuntimeError, match="from the callback"):
        ll.LinearAutoencoder(latent_dim=2, epochs=3, callback=boom).fit(low_rank(n=50, d=5))


def test_verbose_prints_the_cli_progress_line(capsys):
    ll.LinearAutoencoder(latent_dim=2, epochs=2, verbose=True).fit(low_rank(n=50, d=5))
    out = capsys.readouterr().out
    assert "training: 2 epochs of 1 batches, optimiser adam" in out
    assert "epoch 2/2  train " in out and "(L/L* " in out


def test_gil_is_released_during_fit():
    # A Python thread counts while a fit runs in the main thread: with the
    # GIL held by the fit it could not count at all until the fit ended.
    ticks = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks[0] += 1
    X = low_rank(n=20000, d=100, dtype=np.float32)
    ae = ll.LinearAutoencoder(latent_dim=8, epochs=5, batch_size=16, threads=1)
    t = threading.Thread(target=count)
    t.start()
    while ticks[0] == 0:
        time.sleep(0.001)
    before = ticks[0]
    began = time.perf_counter()
    ae.fit(X)
    took = time.perf_counter() - began
    during = ticks[0] - before
    stop.set()
    t.join()
    assert took > 0.05 and during > 10000, (took, during)


def test_ctrl_c_stops_a_fit(tmp_path):
    script = tmp_path / "long_fit.py"
    script.write_text(textwrap.dedent("""\
        import sys, time, numpy as np, latentlab as ll
        X = np.random.default_rng(0).normal(size=(20000, 100)).astype(np.float32)
        started = lambda r: print("epoch", r["epoch"], flush=True)
        try:
            ll.LinearAutoencoder(latent_dim=8, epochs=100000, batch_size=8, callback=started).fit(X)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(0)
        sys.exit(3)
        """))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert p.stdout.readline().startswith("epoch 0")
    time.sleep(0.3)  # within epoch 1
    began = time.time()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 0 and "interrupted" in out
    assert time.time() - began < 5


# --- the module alone ------------------------------------------------------------

def test_load_data_draws_the_rows_a_fit_draws(tmp_path):
    X = low_rank(n=60, d=5)
    np.save(tmp_path / "X.npy", X)
    ae = ll.LinearAutoencoder(latent_dim=2, epochs=1, seed=7, dtype="float64").fit(X)
    rows, labels = ll.load_data({"data.path": str(tmp_path / "X.npy"), "seed": 7, "model.dtype": "float64"})
    assert labels is None
    np.testing.assert_array_equal(rows, X[ae.rows_])


def test_imports_and_fits_without_sklearn():
    code = textwrap.dedent("""\
        import sys
        sys.modules["sklearn"] = None  # import sklearn now fails
        import numpy as np, latentlab as ll
        ae = ll.LinearAutoencoder(latent_dim=2, epochs=1).fit(np.random.default_rng(0).normal(size=(30, 4)))
        assert type(ae).__mro__[1].__name__ == "_Estimator" and ae.get_params()["latent_dim"] == 2
        print(ae.transform(np.ones((1, 4))).shape)
        """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "(1, 2)"


def test_arrays_as_numpy_compares_them_and_bad_values_refused(tmp_path):
    import pickle
    X = low_rank(n=80, d=6)
    # An unpickled array's dtype is equal to float64's, not the same object;
    # big-endian rows are converted; both give the bits of the original.
    ref = ll.LinearAutoencoder(latent_dim=2, epochs=1, seed=3, dtype="float64").fit(X)
    for Y in (pickle.loads(pickle.dumps(X)), X.astype(">f8")):
        ae = ll.LinearAutoencoder(latent_dim=2, epochs=1, seed=3, dtype="float64").fit(Y)
        np.testing.assert_array_equal(ae.components_, ref.components_)
        np.testing.assert_array_equal(ae.transform(Y), ref.transform(X))
    gp = pickle.loads(pickle.dumps(ll.GPLVM(latent_dim=2, kernel="linear").fit(X[:40])))
    assert gp.transform(X[40:43]).shape == (3, 2)
    # Values whose squares overflow, as the CLI refuses them (not a LAPACK failure).
    with pytest.raises(ValueError, match=r"X: values up to 1e\+200 overflow double precision"):
        ll.LinearAutoencoder(latent_dim=2, epochs=1).fit(X * 1e200 / np.abs(X).max())
    with pytest.raises(ValueError, match="overflow double precision"):
        ref.transform(np.full((2, 6), 1e300))
    # NaN labels are not a class.
    y = np.arange(80) % 3 * 1.0
    y[5] = np.nan
    with pytest.raises(ValueError, match="y: label nan at row 5 is not a class"):
        ll.SwishMLP(epochs=1).fit(X, y)
    # A run directory with a NaN parameter is refused naming the file.
    run = tmp_path / "run"
    np.save(tmp_path / "X.npy", X)
    train("--set", f"data.path={tmp_path / 'X.npy'}", "--set", "model.latent_dim=2", "--set", "train.epochs=1",
          "--out", str(run))
    W = np.load(run / "W.npy")
    W[0, 0] = np.nan
    np.save(run / "W.npy", W)
    with pytest.raises(ValueError, match=r"W.npy: holds NaN or Inf"):
        ll.load_run(run)


def test_fit_restores_the_blas_thread_count():
    import ctypes
    # The OpenBLAS this process loaded (numpy's and the module's, as mapped).
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "libopenblas" in line.split()[-1]})
    if not libs:
        pytest.skip("no OpenBLAS mapped in this process")
    blas = ctypes.CDLL(libs[0], mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL)
    blas.openblas_set_num_threads(1)
    ll.LinearAutoencoder(latent_dim=2, epochs=1, threads=2).fit(low_rank(n=60, d=5))
    assert blas.openblas_get_num_threads() == 1


def test_rows_of_load_data_and_a_config_fit_in_the_same_units(tmp_path):
    # uint8 rows: a run scales them by 1/255; an estimator from fit_config
    # (or load_run) scales new rows as `train apply` does, so it takes them
    # in the file's units: load_data(prepared=False). Prepared rows warn.
    pixels = (np.random.default_rng(1).random((120, 8)) * 255).astype(np.uint8)
    np.save(tmp_path / "P.npy", pixels)
    keys = {"data.path": str(tmp_path / "P.npy"), "model.latent_dim": 2, "train.epochs": 2, "model.dtype": "float64"}
    ae = ll.fit_config(_write_config(tmp_path), overrides=keys)
    raw, _ = ll.load_data(keys, prepared=False)
    prepared, _ = ll.load_data(keys)
    np.testing.assert_allclose(prepared, raw / 255.0, rtol=1e-15)
    assert ae.score(raw) == pytest.approx(-ae.summary_["final_loss"], rel=1e-9)
    with pytest.warns(UserWarning, match=r"prepared=False"):
        ae.score(prepared)


def _write_config(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  source: npy\n")
    return path


def test_bad_options_are_named_before_a_fit():
    X = low_rank(n=50, d=5)
    for kwargs, error, match in [({"options": 5}, TypeError, "options: expected a dict"),
                                 ({"options": ["optim.lr=0.1"]}, TypeError, "options: expected a dict"),
                                 ({"callback": 5}, TypeError, "callback: expected a function"),
                                 ({"options": {"model.type": "gplvm"}}, ValueError, "use ll.fit_config")]:
        with pytest.raises(error, match=match):
            ll.LinearAutoencoder(latent_dim=2, epochs=1, **kwargs).fit(X)
    began = time.time()
    with pytest.raises(ValueError, match="model.type bayesian_gplvm: no Python estimator"):
        ll.fit_config("configs/ae.yaml", overrides={"model.type": "bayesian_gplvm", "data.source": "fashion-mnist"})
    assert time.time() - began < 5  # refused before it trains
