#!/usr/bin/env python3
"""The GPy peer of the exact RBF GPLVM (configs/gplvm_rbf.yaml): GPy's
GPLVM(Y, q, kernel=RBF(q)) -- isotropic RBF, learned signal variance,
lengthscale and Gaussian noise, GPy's PCA start -- optimised by its
L-BFGS-B (scipy) with maxfun = maxiter = --max-evals, on the rows of a .npy
file exactly as given (centre them first, as LatentLab's data.center does).
Prints one JSON line: loglik, evaluations (objective calls by L-BFGS-B),
seconds and the learned hyperparameters; --out-x writes the latents.

GPy is not a dependency of LatentLab and is not fetched here: put its source
(and paramz's) on PYTHONPATH yourself. Without it this prints a message and
exits 2. Compare with

    build/train --config configs/gplvm_rbf.yaml --set data.source=npy \\
        --set data.path=Y.npy --set optim.max_evaluations=1000 --out runs/y
"""
import argparse
import contextlib
import json
import sys
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="N x D float .npy (rows are points)")
    ap.add_argument("--q", type=int, default=2, help="latent dimension (default 2)")
    ap.add_argument("--max-evals", type=int, default=1000, help="L-BFGS-B maxfun and maxiter (default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="numpy seed (GPy draws before its PCA start)")
    ap.add_argument("--out-x", help="write the optimised latents here (.npy)")
    a = ap.parse_args()

    try:
        # GPy prints notes on its optional Cython modules to stdout on import.
        with contextlib.redirect_stdout(sys.stderr):
            import GPy
    except ImportError as e:
        print(f"GPy not found; put its source on PYTHONPATH ({e})", file=sys.stderr)
        sys.exit(2)

    Y = np.load(a.data).astype(np.float64)
    if Y.ndim != 2:
        sys.exit(f"{a.data}: expected an N x D array, got shape {Y.shape}")
    np.random.seed(a.seed)
    m = GPy.models.GPLVM(Y, a.q, kernel=GPy.kern.RBF(a.q))
    loglik0 = float(m.log_likelihood())
    t = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        opt = m.optimize("lbfgsb", max_iters=a.max_evals)
    seconds = time.perf_counter() - t
    if a.out_x:
        np.save(a.out_x, np.asarray(m.X.values))
    print(json.dumps({
        "loglik": float(m.log_likelihood()),
        "loglik_start": loglik0,
        "evaluations": int(opt.funct_eval),  # L-BFGS-B's count (paramz adds one call at the end)
        "seconds": seconds,
        "status": opt.status,
        "signal_variance": float(m.kern.variance),
        "lengthscale": float(m.kern.lengthscale),
        "noise_variance": float(m.likelihood.variance),
        "gpy_version": GPy.__version__,
    }))


if __name__ == "__main__":
    main()
