#!/usr/bin/env python3
"""GPy's BayesianGPLVM as the peer of LatentLab's variational GPLVM, on the
Y.npy (and labels.npy) that `gplvm_bench --method variational --dump DIR`
wrote: the same rows, q and M. GPy is not a dependency of LatentLab and is
never downloaded by it: put a GPy source tree (and paramz) on PYTHONPATH
yourself; without it this script says so and exits 2.

Measures, as a GPy user runs it (defaults: PCA start, RBF-ARD, Gaussian noise
1.0, L-BFGS-B):
  - seconds per evaluation of the bound and its gradient (median of --reps),
  - the bound after optimize('lbfgsb') with --budget evaluations (counted),
  - the process's peak resident memory,
  - the leave-one-out 1-NN error of the means (with labels.npy).
Prints one JSON line."""
import argparse
import contextlib
import json
import os
import resource
import sys
import time
import warnings

import numpy as np


def loo_1nn_error(Z, labels):
    sq = (Z * Z).sum(1)
    wrong = 0
    for i0 in range(0, len(Z), 1000):
        d = sq[i0:i0 + 1000, None] - 2 * Z[i0:i0 + 1000] @ Z.T + sq[None, :]
        for k in range(d.shape[0]):
            d[k, i0 + k] = np.inf
        wrong += int((labels[d.argmin(1)] != labels[i0:i0 + 1000]).sum())
    return wrong / len(Z)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="directory with Y.npy (and labels.npy) from gplvm_bench --dump")
    ap.add_argument("--q", type=int, required=True)
    ap.add_argument("--inducing", type=int, required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--budget", type=int, default=0, help="evaluations for the fit (0: no fit)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    try:
        warnings.simplefilter("ignore")
        # GPy prints its fallbacks from Cython to numpy on stdout: keep stdout for the JSON line.
        with contextlib.redirect_stdout(sys.stderr):
            import GPy  # noqa: F401
    except ImportError:
        print("bgplvm_gpy.py: GPy not found; put its source (and paramz) on PYTHONPATH to run the peer",
              file=sys.stderr)
        return 2
    Y = np.load(os.path.join(args.dir, "Y.npy"))
    labels_path = os.path.join(args.dir, "labels.npy")
    labels = np.load(labels_path) if os.path.exists(labels_path) else None
    np.random.seed(args.seed)
    kernel = GPy.kern.RBF(args.q, ARD=True)
    m = GPy.models.BayesianGPLVM(Y, args.q, kernel=kernel, num_inducing=args.inducing)
    out0 = {"init_mean_std": [float(v) for v in np.asarray(m.X.mean).std(0)],
            "init_lengthscales": [float(v) for v in np.atleast_1d(m.kern.lengthscale)],
            "init_noise_variance": float(m.likelihood.variance), "init_elbo": float(m.log_likelihood())}
    x0 = m.optimizer_array.copy()
    m._objective_grads(x0)  # warm-up
    times = []
    for _ in range(args.reps):
        t = time.perf_counter()
        m._objective_grads(x0)
        times.append(time.perf_counter() - t)
    out = {"peer": "GPy " + GPy.__version__, "seconds": float(np.median(times)), "N": Y.shape[0],
           "D": Y.shape[1], "q": args.q, "M": args.inducing, **out0}
    if args.budget > 0:
        count = [0]
        inner = m._objective_grads

        def counted(x):
            count[0] += 1
            return inner(x)
        m._objective_grads = counted
        t = time.perf_counter()
        try:
            m.optimize("lbfgsb", max_iters=args.budget, messages=False, ipython_notebook=False)
        except Exception as e:  # GPy's L-BFGS-B sometimes stops with a line-search error
            out["optimizer_error"] = str(e)[:200]
        out["fit_seconds"] = time.perf_counter() - t
        out["evaluations"] = count[0]
        out["elbo"] = float(m.log_likelihood())
        out["signal_variance"] = float(m.kern.variance)
        out["lengthscales"] = [float(v) for v in np.atleast_1d(m.kern.lengthscale)]
        out["noise_variance"] = float(m.likelihood.variance)
        out["mean_std"] = [float(v) for v in np.asarray(m.X.mean).std(0)]
        out["mean_variance"] = float(np.asarray(m.X.variance).mean())
        if labels is not None:
            out["knn_error"] = loo_1nn_error(np.asarray(m.X.mean), labels)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
