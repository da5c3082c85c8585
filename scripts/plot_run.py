#!/usr/bin/env python3
"""Plots one LatentLab training run.

Usage: plot_run.py RUN_DIR [--out DIR]

Reads from RUN_DIR:
  metrics.csv          epoch,step,train_loss,test_loss,grad_norm,lr,seconds (required)
  summary.json         final_loss, optimal_loss, loss_ratio, principal_angles_deg, ... (optional)
  W.npy                the learned m x n matrix (optional)
  pca_components.npy   the top-m eigenvectors as rows, m x n (optional)

Writes into DIR (default RUN_DIR):
  loss_curve.png   train (and test) loss on a log axis with the PCA optimum L*,
                   and the relative excess loss L/L* - 1 on a log axis
  components.png   rows of W; the PCA directions projected onto span(W) (the
                   rotation of W that best matches them); the PCA directions.
                   28x28 images when n is a perfect square, line plots otherwise.

Needs numpy and matplotlib (Debian: python3-numpy python3-matplotlib). When
started by a Python without them, it re-runs itself with /usr/bin/python3.
"""
import argparse
import csv
import json
import math
import os
import sys
import textwrap

PROG = "plot_run.py"
MAX_COMPONENTS = 16

try:
    import numpy as np
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
except ImportError as _e:
    _system = "/usr/bin/python3"
    if (os.path.exists(_system)
            and os.path.realpath(sys.executable) != os.path.realpath(_system)
            and not os.environ.get("PLOT_RUN_REEXEC")):
        os.environ["PLOT_RUN_REEXEC"] = "1"
        os.execv(_system, [_system, os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit(f"{PROG}: needs numpy and matplotlib ({_e}): run scripts/setup "
             "(Debian: apt-get install python3-numpy python3-matplotlib)")


class PlotError(Exception):
    pass


# ----------------------------------------------------------------- reading

def _float(text):
    text = (text or "").strip()
    if text == "":
        return math.nan
    try:
        return float(text)  # accepts nan, inf
    except ValueError:
        return math.nan


def read_metrics(path):
    """Returns {column: np.array of float} from metrics.csv."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames:
            raise PlotError(f"{path} is empty")
        fields = [c.strip() for c in reader.fieldnames]
        rows = list(reader)
    if "train_loss" not in fields:
        raise PlotError(f"{path} has no train_loss column (columns: {','.join(fields)})")
    if not rows:
        raise PlotError(f"{path} has a header but no rows")
    cols = {}
    for name, raw_name in zip(fields, reader.fieldnames):
        cols[name] = np.array([_float(r.get(raw_name)) for r in rows], dtype=float)
    return cols


def read_summary(path):
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{PROG}: warning: ignoring {path}: {e}", file=sys.stderr)
        return {}
    return doc if isinstance(doc, dict) else {}


def read_matrix(path, what):
    if not os.path.exists(path):
        return None
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise PlotError(f"cannot read {what} {path}: {e}")
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise PlotError(f"{path}: expected a 2-D array, got shape {a.shape}")
    return np.asarray(a, dtype=np.float64)


def summary_number(summary, key):
    v = summary.get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None


# ----------------------------------------------------------------- loss curve

def _label_short_log_axis(ax):
    """On a log axis spanning under two decades, label the minor ticks too."""
    lo, hi = ax.get_ylim()
    if lo > 0 and hi / lo < 100:
        fmt = matplotlib.ticker.FuncFormatter(lambda v, _pos: f"{v:.3g}")
        ax.yaxis.set_major_formatter(fmt)
        ax.yaxis.set_minor_formatter(fmt)
        ax.tick_params(axis="y", which="minor", labelsize=8)


def plot_loss(run_name, metrics, summary, out_path):
    train = metrics["train_loss"]
    test = metrics.get("test_loss")
    has_test = test is not None and np.isfinite(test).any()

    epoch = metrics.get("epoch")
    if epoch is not None and np.isfinite(epoch).all() and len(np.unique(epoch)) == len(epoch):
        x, xlabel = epoch, "epoch"
    elif "step" in metrics and np.isfinite(metrics["step"]).all():
        x, xlabel = metrics["step"], "step"
    else:
        x, xlabel = np.arange(len(train), dtype=float), "row of metrics.csv"
    marker = "o" if len(x) <= 40 else None

    l_star = summary_number(summary, "optimal_loss")
    panels = 2 if l_star is not None and l_star > 0 else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.2 * panels, 4.6), squeeze=False)
    axes = axes[0]

    ax = axes[0]
    ok = np.isfinite(train) & (train > 0)
    ax.plot(x[ok], train[ok], marker=marker, ms=3, lw=1.6, label="train loss")
    if has_test:
        okt = np.isfinite(test) & (test > 0)
        ax.plot(x[okt], test[okt], marker=marker, ms=3, lw=1.6, label="test loss")
    if l_star is not None and l_star > 0:
        ax.axhline(l_star, color="k", ls="--", lw=1.2, label=f"L* (PCA optimum) = {l_star:.6g}")
    bad = int(np.count_nonzero(~np.isfinite(train)))
    if bad:
        ax.text(0.01, 0.01, f"{bad} non-finite train loss value(s) not shown", color="C3",
                fontsize=8, ha="left", va="bottom", transform=ax.transAxes)
    ax.set_yscale("log")
    _label_short_log_axis(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title("loss")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()

    if panels == 2:
        ax = axes[1]
        gap = train / l_star - 1.0
        okg = np.isfinite(gap) & (gap > 0)
        if okg.any():
            ax.plot(x[okg], gap[okg], marker=marker, ms=3, lw=1.6, color="C0",
                    label="train: L / L* − 1")
            ax.set_yscale("log")
            ax.legend()
        else:
            ax.text(0.5, 0.5, "train loss never above L*", ha="center", va="center",
                    transform=ax.transAxes)
        if (~okg & np.isfinite(gap)).any():
            ax.text(0.99, 0.01, "points with L ≤ L* not shown", ha="right", va="bottom",
                    fontsize=8, transform=ax.transAxes, color="0.4")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("L / L* − 1")
        ax.set_title("relative excess loss over the PCA optimum")
        ax.grid(True, which="both", alpha=0.3)

    parts = []
    final = summary_number(summary, "final_loss")
    if final is None and ok.any():
        final = float(train[ok][-1])
    if final is not None:
        parts.append(f"final loss {final:.6g}")
    if l_star is not None:
        parts.append(f"L* {l_star:.6g}")
    ratio = summary_number(summary, "loss_ratio")
    if ratio is None and final is not None and l_star:
        ratio = final / l_star
    if ratio is not None:
        parts.append(f"L/L* {ratio:.6g}")
    for ax in axes:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    fig.suptitle(run_name + ("   —   " + ",  ".join(parts) if parts else ""))
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------- components

def projection_onto_span(W, U_rows):
    """Rows of (Q Q^T U)^T: each PCA direction u_j projected onto span(rows of W).

    Q = orthonormal basis of span(W^T) (QR), R = Q^T U, so Q R = Q Q^T U. Its
    columns are the elements of span(W) closest to each u_j: W's subspace
    rotated to line up with the PCA directions. Also returns the principal
    angles (degrees) between span(W) and span(U)."""
    Q, _ = np.linalg.qr(W.T)            # n x m
    R = Q.T @ U_rows.T                  # m x p
    proj = (Q @ R).T                    # p x n
    k = min(Q.shape[1], U_rows.shape[0])
    cosines = np.linalg.svd(Q.T @ U_rows[:k].T, compute_uv=False)
    angles = np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))
    return proj, np.sort(angles)


def _draw(ax, vec, side, vmax):
    if side:
        ax.imshow(vec.reshape(side, side), cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                  interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        ax.plot(vec, lw=0.8)
        ax.set_ylim(-vmax * 1.05, vmax * 1.05)
        ax.axhline(0, color="0.6", lw=0.5)
        ax.set_xticks([])
        ax.tick_params(labelsize=6)


def _square_side(n):
    side = math.isqrt(n)
    return side if side * side == n and side >= 4 else 0


def plot_components(run_name, W, U, summary, out_path):
    n = W.shape[1] if W is not None else U.shape[1]
    side = _square_side(n)
    blocks = []  # (title, rows, per-panel titles, per-panel vmax)

    angles = None
    if W is not None:
        kw = min(MAX_COMPONENTS, W.shape[0])
        rows = W[:kw]
        vmax = [max(np.abs(r).max(), 1e-12) for r in rows]
        more = f" (first {kw} of {W.shape[0]})" if W.shape[0] > kw else ""
        note = (". Any rotation of the PCA subspace is equally optimal, so these need not "
                "look like the eigenvectors" if U is not None else "")
        blocks.append((f"Rows of W{more}{note}",
                       rows, [f"w{i + 1}" for i in range(kw)], vmax))
    if U is not None:
        ku = min(MAX_COMPONENTS, U.shape[0])
        vmax_u = [max(np.abs(r).max(), 1e-12) for r in U[:ku]]
        if W is not None:
            proj, angles = projection_onto_span(W, U)
            norms = np.linalg.norm(proj[:ku], axis=1) / np.maximum(
                np.linalg.norm(U[:ku], axis=1), 1e-300)
            blocks.append(("W projected onto each PCA direction: the element of span(W) closest "
                           "to u_j (titles: its length = cos of the angle between u_j and "
                           "span(W); colour scale as u_j)",
                           proj[:ku], [f"P·u{j + 1}  {c:.3f}" for j, c in enumerate(norms)],
                           vmax_u))
        more = f" (first {ku} of {U.shape[0]})" if U.shape[0] > ku else ""
        blocks.append((f"Top PCA eigenvectors u_j{more}, by decreasing eigenvalue",
                       U[:ku], [f"u{j + 1}" for j in range(ku)], vmax_u))

    head = [f"{run_name}   n = {n}" + (f" ({side}×{side} images, red > 0 > blue)"
                                         if side else "")]
    summary_angles = summary.get("principal_angles_deg")
    if isinstance(summary_angles, list) and summary_angles and all(
            isinstance(a, (int, float)) and not isinstance(a, bool) for a in summary_angles):
        angles, source = np.array(summary_angles, dtype=float), "summary.json"
    else:
        source = "computed from W and pca_components"
    if angles is not None and len(angles):
        head.append(f"principal angles between span(W) and the top-{len(angles)} PCA subspace "
                    f"({source}): max {np.max(angles):.3g}°, median {np.median(angles):.3g}°")

    # Layout in inches: panels of a fixed size, the figure as wide as the
    # widest block (at least 6 in), titles wrapped to the figure's width.
    cols = max(len(b[1]) for b in blocks)
    cell = 1.0 if side else 1.6             # panel width
    panel_h = cell if side else 0.9         # panel height
    gap = 0.12 if side else 0.5             # between panels (line plots: room for y labels)
    lead = 0.0 if side else 0.35            # extra room left of the first panel for y labels
    grid_w = lead + cols * cell + (cols - 1) * gap
    width = max(grid_w + 0.3, 6.0)
    left = (width - grid_w) / 2 + lead
    head_text = "\n".join(textwrap.fill(h, int(width * 10.5)) for h in head)
    head_h = 0.2 * (head_text.count("\n") + 1) + 0.25
    wrapped, heights = [], []
    for title, *_ in blocks:
        t = textwrap.fill(title, int(width * 13))
        wrapped.append(t)
        heights.append(0.15 * (t.count("\n") + 1) + 0.35 + panel_h + 0.1)
    fig = plt.figure(figsize=(width, head_h + sum(heights)))
    subfigs = fig.subfigures(len(blocks) + 1, 1, squeeze=False,
                             height_ratios=[head_h] + heights)[:, 0]
    subfigs[0].text(0.5, 0.4, head_text, ha="center", va="center", fontsize=10)
    for sf, (_, rows, titles, vmaxes), title, h in zip(subfigs[1:], blocks, wrapped, heights):
        axes = sf.subplots(1, cols, squeeze=False)[0]
        sf.subplots_adjust(left=left / width, right=(left - lead + grid_w) / width,
                           bottom=0.1 / h, top=(0.1 + panel_h) / h, wspace=gap / cell)
        for i, ax in enumerate(axes):
            if i < len(rows):
                _draw(ax, rows[i], side, vmaxes[i])
                ax.set_title(titles[i], fontsize=7, pad=2)
            else:
                ax.axis("off")
        sf.text(0.5, 1.0 - 0.08 / h, title, ha="center", va="top", fontsize=9)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------- main

def plot_likelihood(run_name, metrics, summary, out_path):
    """GPLVM: log-likelihood per iteration, with the analytic maximum if known."""
    import matplotlib.pyplot as plt
    if "log_likelihood" in metrics:
        ll_all = metrics["log_likelihood"]
    else:
        ll_all = -metrics["train_loss"]
    keep = np.isfinite(ll_all)
    it = metrics["epoch"][keep]
    ll = ll_all[keep]
    fig, ax = plt.subplots(1, 2 if "analytic_log_likelihood" in summary else 1, figsize=(12, 4.2), squeeze=False)
    ax = ax[0]
    ax[0].plot(it, ll, ".-", label="log-likelihood")
    best = summary.get("analytic_log_likelihood")
    if best is not None:
        ax[0].axhline(best, color="k", ls="--", label=f"analytic maximum (PPCA) = {best:.6g}")
        gaps = [max(best - v, 1e-16 * abs(best)) for v in ll]
        ax[1].semilogy(it, gaps, ".-")
        ax[1].set_xlabel("L-BFGS iteration")
        ax[1].set_ylabel("analytic maximum - log-likelihood")
        ax[1].set_title("gap to the analytic maximum")
        ax[1].grid(True, which="both", alpha=0.3)
    ax[0].set_xlabel("L-BFGS iteration")
    ax[0].set_ylabel("log-likelihood")
    ax[0].set_title("log-likelihood")
    ax[0].legend()
    ax[0].grid(True, alpha=0.3)
    fig.suptitle(f"{run_name}  —  final log-likelihood {summary.get('log_likelihood', float('nan')):.8g}")
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


def plot_latent(run_name, X, Z_pca, labels, summary, out_path):
    """GPLVM latents (first two dimensions) next to PCA's, coloured by label."""
    import matplotlib.pyplot as plt
    panels = [("GPLVM latent X (kernel %s)" % summary.get("kernel", "?"), X, summary.get("knn_error"))]
    if Z_pca is not None:
        panels.append(("PCA to the same dimension", Z_pca, summary.get("pca_knn_error")))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 5.6), squeeze=False)
    for ax, (title, Z, err) in zip(axes[0], panels):
        if Z.ndim != 2 or Z.shape[1] < 2:
            ax.text(0.5, 0.5, "latent dimension < 2: nothing to scatter", ha="center", transform=ax.transAxes)
            continue
        if labels is not None and len(labels) == len(Z):
            sc = ax.scatter(Z[:, 0], Z[:, 1], c=labels, cmap="tab10", s=4, vmin=-0.5, vmax=9.5)
            cb = fig.colorbar(sc, ax=ax, ticks=range(10))
            cb.set_label("label")
        else:
            ax.scatter(Z[:, 0], Z[:, 1], s=4)
        if err is not None:
            title += f"\nleave-one-out 1-NN error {err:.3f}"
        ax.set_title(title)
        ax.set_xlabel("latent 1")
        ax.set_ylabel("latent 2")
    fig.suptitle(run_name)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


def main(argv):
    ap = argparse.ArgumentParser(prog=PROG, description="Plot one LatentLab training run.")
    ap.add_argument("run_dir", metavar="RUN_DIR")
    ap.add_argument("--out", metavar="DIR", help="where to write the PNGs (default: RUN_DIR)")
    args = ap.parse_args(argv)

    run_dir = args.run_dir
    metrics_path = os.path.join(run_dir, "metrics.csv")
    if not os.path.isfile(metrics_path):
        print(f"{PROG}: {metrics_path} not found (is {run_dir} a run directory?)", file=sys.stderr)
        return 1
    out_dir = args.out or run_dir
    run_name = os.path.basename(os.path.normpath(os.path.abspath(run_dir)))

    try:
        metrics = read_metrics(metrics_path)
        summary = read_summary(os.path.join(run_dir, "summary.json"))
        W = read_matrix(os.path.join(run_dir, "W.npy"), "W")
        U = read_matrix(os.path.join(run_dir, "pca_components.npy"), "PCA components")
        if W is not None and U is not None and W.shape[1] != U.shape[1]:
            print(f"{PROG}: warning: W is {W.shape[0]}x{W.shape[1]} but pca_components is "
                  f"{U.shape[0]}x{U.shape[1]}; not comparing them", file=sys.stderr)
            U = None
        os.makedirs(out_dir, exist_ok=True)

        written = []
        X = read_matrix(os.path.join(run_dir, "X.npy"), "X")
        if X is not None:  # a GPLVM run
            import numpy as np
            loss_png = os.path.join(out_dir, "loss_curve.png")
            plot_likelihood(run_name, metrics, summary, loss_png)
            written.append(loss_png)
            lab_path = os.path.join(run_dir, "labels.npy")
            labels = np.load(lab_path) if os.path.isfile(lab_path) else None
            Z = read_matrix(os.path.join(run_dir, "pca_latent.npy"), "PCA latent")
            latent_png = os.path.join(out_dir, "latent.png")
            plot_latent(run_name, X, Z, labels, summary, latent_png)
            written.append(latent_png)
            for p in written:
                print(p)
            return 0
        loss_png = os.path.join(out_dir, "loss_curve.png")
        plot_loss(run_name, metrics, summary, loss_png)
        written.append(loss_png)
        if W is not None or U is not None:
            comp_png = os.path.join(out_dir, "components.png")
            plot_components(run_name, W, U, summary, comp_png)
            written.append(comp_png)
        else:
            print(f"{PROG}: no W.npy or pca_components.npy in {run_dir}; "
                  "components.png not written", file=sys.stderr)
    except PlotError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1

    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
