#!/usr/bin/env python3
"""The peer of LatentLab's time to the linear GPLVM's analytic maximum
(scripts/bench_gplvm): scipy's L-BFGS-B on bench/gplvm_numpy.py's Woodbury
negative log-likelihood and gradient, on the same data (Fashion-MNIST train,
all rows, pixels / 255, centred, float64), from a random start of the same
scale (0.01) as configs/gplvm_linear.yaml, alpha and beta fixed.

Prints one JSON line: seconds until the NLL is within --rel of the analytic
optimum --target (the value LatentLab's run reports), iterations and
evaluations until then, and the NLL reached."""
import argparse
import gzip
import json
import time

import numpy as np
from scipy.optimize import minimize

from gplvm_numpy import woodbury


class Reached(Exception):
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", default="/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    ap.add_argument("--q", type=int, default=10)
    ap.add_argument("--target", type=float, required=True, help="the optimal NLL (minus the analytic log-likelihood)")
    ap.add_argument("--rel", type=float, default=1e-9)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=300)
    a = ap.parse_args()
    raw = gzip.open(a.images).read() if a.images.endswith(".gz") else open(a.images, "rb").read()
    n = int.from_bytes(raw[4:8], "big")
    Y = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, -1).astype(np.float64) * (1.0 / 255.0)
    Y -= Y.mean(axis=0)
    N, D = Y.shape
    sumY2 = float(np.sum(Y * Y))
    X0 = 0.01 * np.random.default_rng(a.seed).standard_normal((N, a.q))
    state = {"evals": 0, "iters": 0, "best": np.inf}
    t0 = time.perf_counter()

    def f(x):
        state["evals"] += 1
        nll, dX = woodbury(Y, x.reshape(N, a.q), a.alpha, a.noise, sumY2)
        state["best"] = min(state["best"], nll)
        return nll, dX.ravel()

    def cb(xk):
        state["iters"] += 1
        if state["best"] - a.target <= a.rel * abs(a.target):
            raise Reached
        if time.perf_counter() - t0 > a.max_seconds:
            raise Reached

    reached = False
    try:
        minimize(f, X0.ravel(), jac=True, method="L-BFGS-B", callback=cb,
                 options={"maxiter": 100000, "maxfun": 100000, "ftol": 0.0, "gtol": 0.0, "maxcor": 10})
    except Reached:
        pass
    seconds = time.perf_counter() - t0
    reached = bool(state["best"] - a.target <= a.rel * abs(a.target))
    print(json.dumps({"seconds": seconds, "iterations": state["iters"], "evaluations": state["evals"],
                      "nll": float(state["best"]), "reached": reached}))


if __name__ == "__main__":
    main()
