#!/usr/bin/python3
"""The PyTorch peer of LatentLab's tied linear autoencoder (README, Benchmarks).

Exactly the same problem and loop as `build/train --config configs/ae_fashion.yaml`
with Adam at a constant learning rate:

  data   Fashion-MNIST train images (60000 x 784), pixels / 255, uncentred
  model  tied W (m x n), W0 ~ N(0, init_scale^2)
  loss   1/2 * mean over the batch of ||W^T W x - x||^2   (autograd)
  optim  torch.optim.Adam(lr), a fresh random permutation each epoch, batch B,
         the last batch smaller

The loop is the fastest of the plain PyTorch loops we measured on this
problem (README, Benchmarks): each batch gathered by index_select into one
reused buffer (X[idx] allocates 800 KB per step, and the page faults of that
allocation cost more than the copy), the reconstruction by F.linear and the
loss by F.mse_loss(reduction="sum") (one fused kernel and its backward instead
of a subtraction, a product and a sum). --plain runs the textbook loop
(xb = X[idx]; r = xb @ W.t() @ W - xb; (r * r).sum()) for comparison.

Timing: `epoch_seconds` is the wall time of each epoch's optimisation steps
only (gather, forward, backward, Adam), as LatentLab's `epoch_seconds`. Data
loading and the per-epoch full-train loss (in float64, chunked, no grad) are
outside the timed region. Threads: set OMP_NUM_THREADS, OPENBLAS_NUM_THREADS
and OMP_WAIT_POLICY=PASSIVE in the environment before starting (scripts/bench
does); this script also calls torch.set_num_threads.

Prints one JSON object: {"epoch_seconds": [...], "train_loss": [...], ...}.
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np


def read_idx_images(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic != 2051:
        sys.exit(f"{path}: not an IDX image file (magic {magic})")
    n, rows, cols = (int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(3))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows * cols)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default="/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    ap.add_argument("--latent", type=int, default=32)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--init-scale", type=float, default=0.01)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval", action="store_true", help="full-train loss after every epoch (untimed)")
    ap.add_argument("--plain", action="store_true", help="the textbook loop instead of the fastest one")
    args = ap.parse_args()

    import torch  # after argparse: --help works without torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dtype = torch.float32 if args.dtype == "float32" else torch.float64

    t_load = time.perf_counter()
    raw = read_idx_images(args.images)
    # The same values as LatentLab: float(double(pixel) / 255).
    X = torch.from_numpy(raw.astype(np.float64) / 255.0).to(dtype)
    N, n = X.shape
    load_seconds = time.perf_counter() - t_load

    W = (args.init_scale * torch.randn(args.latent, n, dtype=torch.float64)).to(dtype).requires_grad_()
    opt = torch.optim.Adam([W], lr=args.lr)

    def full_loss():
        with torch.no_grad():
            Wd = W.detach().double()
            total = 0.0
            for i in range(0, N, 8192):
                xb = X[i:i + 8192].double()
                r = (xb @ Wd.t()) @ Wd - xb
                total += 0.5 * float((r * r).sum())
            return total / N

    epoch_seconds, train_loss = [], []
    if args.eval:
        train_loss.append(full_loss())
    B = args.batch
    buf = torch.empty(B, n, dtype=dtype)
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(N)
        for i in range(0, N, B):
            idx = perm[i:i + B]
            if args.plain:
                xb = X[idx]
                r = (xb @ W.t()) @ W - xb
                loss = 0.5 * (r * r).sum() / xb.shape[0]
            else:
                xb = buf[:idx.shape[0]]
                torch.index_select(X, 0, idx, out=xb)
                loss = F.mse_loss(F.linear(F.linear(xb, W), W.t()), xb, reduction="sum") * (0.5 / xb.shape[0])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        epoch_seconds.append(time.perf_counter() - t0)
        if args.eval:
            train_loss.append(full_loss())

    print(json.dumps({
        "epoch_seconds": epoch_seconds,
        "train_loss": train_loss,
        "load_seconds": load_seconds,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "dtype": args.dtype,
        "batch": B,
        "latent": args.latent,
        "loop": "plain" if args.plain else "fast",
        "env": {k: os.environ.get(k, "") for k in
                ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_CORETYPE")},
    }))


if __name__ == "__main__":
    main()
