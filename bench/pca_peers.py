#!/usr/bin/env python3
"""The peers of bench/pca_bench.cpp on the X.npy it wrote (float32 rows):
numpy's Gram matrix and symmetric eigendecomposition (np.linalg.eigh of
XᵀX in float64, what a numpy user writes for PCA), and scikit-learn's
PCA(n_components) with the full and the randomized solver when scikit-learn
is installed. Prints one JSON line of median seconds."""
import argparse
import json
import time

import numpy as np


def median_time(f, reps):
    f()  # warm-up
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--components", type=int, default=32)
    args = ap.parse_args()
    X = np.load(args.dir + "/X.npy")
    Xd = X.astype(np.float64)
    out = {}
    top = [0.0]

    def gram_eigh():
        w, _ = np.linalg.eigh(Xd.T @ Xd)
        top[0] = float(w[-1])
    out["numpy_seconds"] = median_time(gram_eigh, args.reps)
    out["numpy_top_eigenvalue"] = top[0]
    try:
        from sklearn.decomposition import PCA
        out["sklearn_full_seconds"] = median_time(
            lambda: PCA(args.components, svd_solver="full").fit(X), max(1, args.reps // 2))
        out["sklearn_randomized_seconds"] = median_time(
            lambda: PCA(args.components, svd_solver="randomized", random_state=0).fit(X), max(1, args.reps // 2))
    except ImportError:
        out["sklearn"] = "not installed"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
