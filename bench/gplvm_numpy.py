#!/usr/bin/env python3
"""The numpy peer of bench/gplvm_bench.cpp: the same GPLVM negative
log-likelihood and gradient (Lawrence 2005; README, Reproducing the homework:
Problem 2), written as a numpy user would, on the Y.npy and X.npy that
gplvm_bench --dump wrote. Prints one JSON line with the median seconds of
--reps evaluations and the value, so the two implementations also check each
other."""
import argparse
import json
import time

import numpy as np

LOG2PI = np.log(2 * np.pi)


def woodbury(Y, X, alpha, s2, sumY2):
    N, D = Y.shape
    q = X.shape[1]
    beta = 1.0 / s2
    XtX = X.T @ X
    P = X.T @ Y                       # pass 1 over Y
    M = np.eye(q) + alpha * beta * XtX
    Minv = np.linalg.inv(M)
    _, logdetM = np.linalg.slogdet(M)
    PPt = P @ P.T
    nll = 0.5 * N * D * LOG2PI + 0.5 * D * (N * np.log(s2) + logdetM) \
        + 0.5 * (beta * sumY2 - alpha * beta**2 * np.trace(Minv @ PPt))
    R = Y @ P.T                       # pass 2 over Y
    MPPM = Minv @ PPt @ Minv
    dX = X @ (alpha * beta * D * Minv + alpha**2 * beta**3 * MPPM) - alpha * beta**2 * R @ Minv
    return nll, dX


def dense(Y, X, kernel, alpha, ell, s2):
    N, D = Y.shape
    if kernel == "linear":
        Kf = alpha * X @ X.T
    else:
        sq = np.sum(X**2, axis=1)
        r2 = np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0)
        Kf = alpha * np.exp(-0.5 * r2 / ell**2)
    K = Kf + s2 * np.eye(N)
    L = np.linalg.cholesky(K)
    logdet = 2 * np.sum(np.log(np.diag(L)))
    Kinv = np.linalg.inv(K)
    Z = Kinv @ Y
    nll = 0.5 * N * D * LOG2PI + 0.5 * D * logdet + 0.5 * np.sum(Y * Z)
    G = 0.5 * (D * Kinv - Z @ Z.T)
    if kernel == "linear":
        dX = 2 * alpha * G @ X
    else:
        A = G * Kf
        dX = -(2 / ell**2) * (A.sum(axis=1)[:, None] * X - A @ X)
    return nll, dX


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", required=True, help="folder with Y.npy and X.npy")
    ap.add_argument("--kernel", default="linear")
    ap.add_argument("--method", default="woodbury")
    ap.add_argument("--dtype", default="float64")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    Y = np.load(f"{a.dir}/Y.npy").astype(a.dtype)
    X = np.load(f"{a.dir}/X.npy").astype(a.dtype)
    alpha, ell, s2 = 1.0, 1.0, 0.5
    sumY2 = float(np.sum(Y.astype(np.float64) ** 2))

    def once():
        if a.method == "woodbury":
            return woodbury(Y, X, alpha, s2, sumY2)
        return dense(Y, X, a.kernel, alpha, ell, s2)

    nll, dX = once()
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        nll, dX = once()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": float(np.median(times)), "nll": float(nll),
                      "grad_norm": float(np.linalg.norm(dX))}))


if __name__ == "__main__":
    main()
