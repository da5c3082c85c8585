"""`mpirun -np K train` against one process (README, Several processes: MPI).

Each test runs the same config on one process (no mpirun) and on K = 1..4
ranks on loopback, and compares the run directories' numbers: the rows are
split over the ranks and every sum is reduced, so only the order of the
additions differs (1e-12 relative in float64, 1e-5 in float32). The row
counts (1003, 601) divide by none of 2, 3, 4. Run by ctest as MPI.<test>
when CMake found MPI (LATENTLAB_TRAIN_EXE names the binary).
"""
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest

TRAIN = os.environ.get("LATENTLAB_TRAIN_EXE", os.path.join(os.path.dirname(__file__), "../../build/train"))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_vader_single_copy_mechanism="none",
           OPENBLAS_NUM_THREADS="1")


def train(ranks, *args, check=True, timeout=240):
    """`train args` on one process (ranks = 0: no mpirun) or under mpirun -np ranks."""
    cmd = [TRAIN, *args] if ranks == 0 else ["mpirun", "-q", "-np", str(ranks), "--bind-to", "none", TRAIN, *args]
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """1003 rows of 12 columns near a 3-d subspace, and 3 classes."""
    d = tmp_path_factory.mktemp("mpi_data")
    rng = np.random.default_rng(7)
    n, D = 1003, 12
    Z = rng.normal(size=(n, 3))
    Y = Z @ rng.normal(size=(3, D)) + 0.3 * rng.normal(size=(n, D))
    labels = (Z[:, 0] > 0).astype(np.int64) + (Z[:, 1] > 0.5)
    np.save(d / "Y.npy", Y)
    np.save(d / "labels.npy", labels)
    return d


def data_keys(data, rows=None, labels=False, test=0.0):
    keys = ["--set", "data.source=npy", "--set", f"data.path={data / 'Y.npy'}", "--set", f"data.test_fraction={test}"]
    if labels:
        keys += ["--set", f"data.labels={data / 'labels.npy'}"]
    if rows:
        keys += ["--set", f"data.limit={rows}"]
    return keys


def metrics(run):
    with open(os.path.join(run, "metrics.csv")) as f:
        header = f.readline().strip().split(",")
    m = np.genfromtxt(os.path.join(run, "metrics.csv"), delimiter=",", skip_header=1)
    return {h: m[:, i] for i, h in enumerate(header)}


def summary(run):
    with open(os.path.join(run, "summary.json")) as f:
        return json.load(f)


def error_lines(p):
    return [l for l in p.stderr.splitlines() if l.startswith("error:")]


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def assert_same_run(one, many, files, columns, tol):
    for f in files:
        a, b = np.load(os.path.join(one, f)), np.load(os.path.join(many, f))
        assert a.shape == b.shape, f
        assert rel(a, b) <= tol, (f, rel(a, b))
    ma, mb = metrics(one), metrics(many)
    for c in columns:
        ok = ~np.isnan(ma[c])
        assert np.array_equal(ok, ~np.isnan(mb[c])), c
        assert rel(ma[c][ok], mb[c][ok]) <= tol, (c, rel(ma[c][ok], mb[c][ok]))


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_autoencoder_equals_one_process(tmp_path, data, dtype, tol):
    """Adam on a tied linear AE, minibatches spread over 1-4 ranks, a held-out split."""
    args = ["--set", "model.type=linear_autoencoder", "--set", "model.latent_dim=3", "--set", f"model.dtype={dtype}",
            "--set", "optim.type=adam", "--set", "optim.lr=0.01", "--set", "train.epochs=4",
            "--set", "train.batch_size=64", "-q", *data_keys(data, test=0.1)]
    train(0, *args, "--out", str(tmp_path / "one"))
    for k in (1, 2, 3, 4):
        train(k, *args, "--out", str(tmp_path / f"k{k}"))
        assert_same_run(tmp_path / "one", tmp_path / f"k{k}", ["W.npy"], ["train_loss", "test_loss", "grad_norm"], tol)
        assert summary(tmp_path / f"k{k}")["processes"] == k
        assert summary(tmp_path / f"k{k}")["n_train"] == summary(tmp_path / "one")["n_train"]
    # One rank under mpirun is one process: the same bits.
    assert np.array_equal(np.load(tmp_path / "one" / "W.npy"), np.load(tmp_path / "k1" / "W.npy"))


def test_mlp_equals_one_process(tmp_path, data):
    """The Swish MLP: gradient sums and the accuracy counts reduced."""
    args = ["--set", "model.type=mlp", "--set", "model.hidden=16", "--set", "model.classes=3", "--set",
            "model.dtype=float64", "--set", "optim.lr=0.01", "--set", "train.epochs=3", "--set", "train.batch_size=50",
            "-q", *data_keys(data, labels=True, test=0.2)]
    train(0, *args, "--out", str(tmp_path / "one"))
    train(3, *args, "--out", str(tmp_path / "k3"))
    blocks = [f for f in os.listdir(tmp_path / "one") if f.endswith(".npy") and f not in ("rows.npy",)]
    assert len(blocks) >= 2
    assert_same_run(tmp_path / "one", tmp_path / "k3", blocks,
                    ["train_loss", "test_loss", "train_accuracy", "test_accuracy"], 1e-12)


def test_linear_gplvm_reaches_the_analytic_maximum_on_any_rank_count(tmp_path, data):
    """Woodbury GPLVM: XᵀX, XᵀY, ‖Y‖² summed per evaluation, latents spread, L-BFGS inner products reduced."""
    args = ["--set", "model.type=gplvm", "--set", "model.kernel=linear", "--set", "model.latent_dim=2", "--set",
            "model.dtype=float64", "--set", "model.init=random", "--set", "model.init_scale=0.01", "--set",
            "model.learn_hyperparameters=false", "--set", "data.center=true", "--set", "optim.type=lbfgs", "--set",
            "optim.max_iterations=500", "--set", "optim.grad_tol=1e-7", "--set", "optim.rel_tol=1e-15", "-q",
            *data_keys(data, rows=601)]
    train(0, *args, "--out", str(tmp_path / "one"))
    one = summary(tmp_path / "one")
    X1 = np.load(tmp_path / "one" / "X.npy")
    assert abs(one["log_likelihood"] - one["analytic_log_likelihood"]) <= 1e-12 * abs(one["analytic_log_likelihood"])
    for k in (2, 3, 4):
        run = tmp_path / f"k{k}"
        train(k, *args, "--out", str(run))
        s = summary(run)
        assert abs(s["log_likelihood"] - one["log_likelihood"]) <= 1e-12 * abs(one["log_likelihood"])
        assert s["analytic_log_likelihood"] == pytest.approx(one["analytic_log_likelihood"], rel=1e-13)
        X = np.load(run / "X.npy")  # gathered in row order
        assert X.shape == X1.shape == (601, 2)
        # The likelihood is flat to second order at its maximum (and along
        # rotations of X): where L-BFGS stops, the latents agree to ~sqrt(eps).
        assert rel(X1 @ X1.T, X @ X.T) <= 1e-5
        assert np.array_equal(np.load(tmp_path / "one" / "pca_latent.npy").shape, np.load(run / "pca_latent.npy").shape)
        assert rel(np.load(tmp_path / "one" / "pca_latent.npy"), np.load(run / "pca_latent.npy")) <= 1e-12
        m1, mk = metrics(tmp_path / "one"), metrics(run)
        n = min(len(m1["train_loss"]), len(mk["train_loss"]))
        assert rel(m1["train_loss"][:n], mk["train_loss"][:n]) <= 1e-12


def test_second_moment_mode_and_variational_gplvm_first_steps(tmp_path, data):
    """The C-mode AE (C summed over ranks) to its optimum; the variational GPLVM's
    bound and gradient norm (ψ-statistics summed) for its first iterations."""
    ae = ["--set", "model.type=linear_autoencoder", "--set", "model.objective=second_moment", "--set",
          "model.latent_dim=3", "--set", "model.dtype=float64", "--set", "optim.type=lbfgs", "--set",
          "optim.max_iterations=300", "--set", "optim.grad_tol=1e-10", "-q", *data_keys(data)]
    train(0, *ae, "--out", str(tmp_path / "ae1"))
    train(2, *ae, "--out", str(tmp_path / "ae2"))
    a, b = summary(tmp_path / "ae1"), summary(tmp_path / "ae2")
    assert a["loss_ratio"] == pytest.approx(1.0, abs=1e-10)
    assert abs(a["final_loss"] - b["final_loss"]) <= 1e-12 * a["final_loss"]
    assert b["max_principal_angle_deg"] < 1e-3

    bg = ["--set", "model.type=bayesian_gplvm", "--set", "model.latent_dim=2", "--set", "model.inducing=10", "--set",
          "model.dtype=float64", "--set", "data.center=true", "--set", "optim.type=lbfgs", "--set",
          "optim.max_iterations=3", "-q", *data_keys(data, rows=401, labels=True)]
    train(0, *bg, "--out", str(tmp_path / "bg1"))
    train(3, *bg, "--out", str(tmp_path / "bg3"))
    # The bound at the start to 1e-11; L-BFGS on a non-convex bound then
    # amplifies the different rounding of the sums (README: ~1e-9 after 3 iterations).
    m1, m3 = metrics(tmp_path / "bg1"), metrics(tmp_path / "bg3")
    assert rel(m1["train_loss"][:1], m3["train_loss"][:1]) <= 1e-11  # the bound cancels large terms
    assert rel(m1["grad_norm"][:1], m3["grad_norm"][:1]) <= 1e-10
    assert_same_run(tmp_path / "bg1", tmp_path / "bg3", ["X_mean.npy", "X_log_var.npy", "Z.npy", "log_hyper.npy"],
                    ["train_loss", "grad_norm"], 1e-7)
    assert summary(tmp_path / "bg3")["knn_error"] == summary(tmp_path / "bg1")["knn_error"]


def test_resume_on_the_same_rank_count_is_bit_exact(tmp_path, data):
    ae = ["--set", "model.type=linear_autoencoder", "--set", "model.latent_dim=3", "--set", "model.dtype=float64",
          "--set", "train.epochs=4", "--set", "train.batch_size=64", "-q", *data_keys(data)]
    train(3, *ae, "--out", str(tmp_path / "full"))
    train(3, *ae, "--out", str(tmp_path / "part"), "--stop-after", "2")
    train(3, "--resume", str(tmp_path / "part"), "-q")
    assert np.array_equal(np.load(tmp_path / "full" / "W.npy"), np.load(tmp_path / "part" / "W.npy"))
    # The AE's state is the same on every rank: one checkpoint, resumable on any count.
    assert not (tmp_path / "part" / "checkpoint.rank1.bin").exists()

    gp = ["--set", "model.type=gplvm", "--set", "model.kernel=linear", "--set", "model.latent_dim=2", "--set",
          "model.dtype=float64", "--set", "data.center=true", "--set", "optim.type=lbfgs", "--set",
          "optim.max_iterations=12", "-q", *data_keys(data, rows=601)]
    train(2, *gp, "--out", str(tmp_path / "gfull"))
    train(2, *gp, "--out", str(tmp_path / "gpart"), "--stop-after", "5")
    assert (tmp_path / "gpart" / "checkpoint.rank1.bin").exists()
    p = train(3, "--resume", str(tmp_path / "gpart"), "-q", check=False)
    assert p.returncode == 2
    assert len(error_lines(p)) == 1 and "mpirun -np 2" in p.stderr, p.stderr
    train(2, "--resume", str(tmp_path / "gpart"), "-q")
    assert np.array_equal(np.load(tmp_path / "gfull" / "X.npy"), np.load(tmp_path / "gpart" / "X.npy"))


def test_bad_input_is_one_line_on_every_rank_count(tmp_path, data):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  type: [\n")
    for k in (2, 4):
        p = train(k, "--config", str(bad), "--out", str(tmp_path / "x"), check=False)
        assert p.returncode == 2 and len(error_lines(p)) == 1, p.stderr
        p = train(k, "--set", "model.latent_dim=-3", "--out", str(tmp_path / "x"), check=False)
        assert p.returncode == 2 and len(error_lines(p)) == 1, p.stderr
        # The dense RBF GPLVM factorises an N×N matrix: refused, pointing at the variational model.
        p = train(k, "--set", "model.type=gplvm", "--set", "model.kernel=rbf", "--set", "data.center=true",
                  "--set", "model.latent_dim=2",
                  "--out", str(tmp_path / "x"), *data_keys(data), check=False)
        assert p.returncode == 2 and len(error_lines(p)) == 1 and "bayesian_gplvm" in p.stderr, p.stderr
        assert not (tmp_path / "x").exists()
    # A NaN in the rows of one rank only: that rank's message, once, from rank 0.
    Y = np.load(data / "Y.npy")
    Y[900, 4] = np.nan
    np.save(tmp_path / "nan.npy", Y)
    p = train(3, "--set", "data.source=npy", "--set", f"data.path={tmp_path / 'nan.npy'}", "--out",
              str(tmp_path / "x"), check=False)
    assert p.returncode == 1 and len(error_lines(p)) == 1 and "NaN" in p.stderr and "900" in p.stderr, p.stderr
    assert not (tmp_path / "x").exists()


def test_a_rank_that_dies_ends_the_job(tmp_path, data):
    """SIGKILL to one rank mid-run: mpirun ends every rank with a non-zero exit, no hang."""
    args = ["--set", "model.type=linear_autoencoder", "--set", "model.latent_dim=3", "--set", "train.epochs=100000",
            "--set", "train.batch_size=8", "-q", *data_keys(data), "--out", str(tmp_path / "run")]
    p = subprocess.Popen(["mpirun", "-np", "2", "--bind-to", "none", TRAIN, *args], env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim, t0 = None, time.time()
    while victim is None and time.time() - t0 < 60:
        time.sleep(0.2)
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read().split(b"\0")
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"OMPI_COMM_WORLD_RANK=1" in env and str(tmp_path).encode() in cmd and os.path.basename(TRAIN).encode() in cmd:
                victim = int(pid)
        if victim and not (tmp_path / "run" / "metrics.csv").exists():
            victim = None  # wait until training has begun
    assert victim, "rank 1 not found"
    os.kill(victim, signal.SIGKILL)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("mpirun hung after a rank died")
    assert p.returncode != 0
    assert "signal 9" in err or "Killed" in err or "exited on signal" in err, err


def test_every_rank_takes_the_same_branch(tmp_path, data):
    """C-mode AE with a held-out half: on rank 1 of 2 the test share has as many rows
    as the training share (250 of 500 and 250 of 501); the test loss is still the
    one-process test loss, and no rank waits for another."""
    args = ["--set", "model.type=linear_autoencoder", "--set", "model.objective=second_moment", "--set",
            "model.latent_dim=3", "--set", "model.dtype=float64", "--set", "optim.type=lbfgs", "--set",
            "optim.max_iterations=20", "-q", *data_keys(data, rows=1001, test=0.5)]
    train(0, *args, "--out", str(tmp_path / "one"))
    train(2, *args, "--out", str(tmp_path / "k2"), timeout=60)
    assert_same_run(tmp_path / "one", tmp_path / "k2", ["W.npy"], ["train_loss", "test_loss"], 1e-12)


def test_mismatched_rank_checkpoints_and_rank0_only_failures_are_one_line(tmp_path, data):
    gp = ["--set", "model.type=gplvm", "--set", "model.kernel=linear", "--set", "model.latent_dim=2", "--set",
          "model.dtype=float64", "--set", "data.center=true", "--set", "optim.type=lbfgs", "--set",
          "optim.max_iterations=12", "--set", "train.checkpoint_every=1", "-q", *data_keys(data, rows=601)]
    run = tmp_path / "g"
    train(2, *gp, "--out", str(run), "--stop-after", "3")
    old = (run / "checkpoint.rank1.bin").read_bytes()
    train(2, "--resume", str(run), "--stop-after", "6", "-q")
    (run / "checkpoint.rank1.bin").write_bytes(old)  # as if the job died between the ranks' writes
    before = {f: (run / f).read_bytes() for f in os.listdir(run) if f != "train.log"}
    p = train(2, "--resume", str(run), "-q", check=False)
    assert p.returncode == 1 and len(error_lines(p)) == 1 and "different epochs" in p.stderr, p.stderr
    assert {f: (run / f).read_bytes() for f in os.listdir(run) if f != "train.log"} == before
    # rank 0 alone cannot create the run directory (its parent is a file): one line, no abort banner.
    (tmp_path / "afile").write_text("x")
    p = train(2, *gp, "--out", str(tmp_path / "afile" / "run"), check=False)
    assert p.returncode == 1 and len(error_lines(p)) == 1 and "rank 0 of" not in p.stderr, p.stderr
