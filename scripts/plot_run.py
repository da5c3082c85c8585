#!/usr/bin/env python3
"""Plots one LatentLab training run.

Usage: plot_run.py RUN_DIR [--out DIR]

Reads from RUN_DIR:
  metrics.csv          epoch,step,train_loss,test_loss,grad_norm,lr,seconds,... (required)
  summary.json         final_loss, optimal_loss, loss_ratio, principal_angles_deg, ... (optional)
  W.npy                autoencoders: the learned m x n matrix (optional)
  pca_components.npy   autoencoders: the top-m eigenvectors as rows, m x n (optional)
  X.npy                GPLVM: the latents, N x q; with labels.npy and pca_latent.npy
  X_mean.npy           Bayesian GPLVM: the variational means, N x q (see below)

Writes into DIR (default RUN_DIR):
  loss_curve.png   train (and test) loss on a log axis with the PCA optimum L*,
                   and the relative excess loss L/L* - 1 on a log axis
                   (GPLVM: the log-likelihood, and its gap to the analytic maximum)
  components.png   rows of W; the PCA directions projected onto span(W) (the
                   rotation of W that best matches them); the PCA directions.
                   side x side images when n is a perfect square (784: 28x28),
                   line plots otherwise.
  accuracy.png     train and test accuracy per epoch, when metrics.csv has
                   train_accuracy / test_accuracy columns (the mlp)
  latent.png       GPLVM: the latents next to PCA's. With q > 2, the two most
                   relevant dimensions (rbf_ard: the two smallest lengthscales;
                   otherwise the two of largest variance), named on the axes.
                   Integer labels (at most 20 values): one colour per class and
                   a legend; other labels (e.g. a swiss roll's t): a colormap
                   and a colorbar.

Bayesian GPLVM runs (X_mean.npy instead of X.npy; also Z.npy, pca_latent.npy,
labels.npy, variance_grid.npy and summary.json's plot_dims, relevance,
active_dims, variance_grid_extent) get instead:
  loss_curve.png   the ELBO (metrics.csv elbo) per iteration, and its distance
                   below the final bound on a log axis
  latent.png       the means X_mean in the two most relevant dimensions
                   (plot_dims) on the model's predictive variance over them
                   (variance_grid.npy, grey: light = low variance, where the
                   model is confident; dark = high), the inducing inputs Z as
                   small crosses, next to PCA's scores; labels as above
  relevance.png    the ARD relevance (1/lengthscale^2, or alpha for a linear
                   kernel) per latent dimension, the active ones coloured

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
    import matplotlib.colors
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
    if a.dtype.kind not in "fiu":
        raise PlotError(f"{path}: expected real numbers, got dtype {a.dtype}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise PlotError(f"{path}: holds NaN or Inf (a run writes finite values only: the file was changed)")
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


# ----------------------------------------------------------------- likelihood

def plot_likelihood(run_name, metrics, summary, out_path):
    """GPLVM: log-likelihood per iteration, with the analytic maximum if known."""
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


def plot_elbo(run_name, metrics, summary, out_path):
    """Bayesian GPLVM: the evidence lower bound (metrics.csv elbo, else
    -train_loss) per iteration, and its distance below the final bound on a
    log axis (how the optimiser converged)."""
    if "elbo" in metrics:
        elbo_all = metrics["elbo"]
    else:
        elbo_all = -metrics["train_loss"]
    keep = np.isfinite(elbo_all)
    if not keep.any():
        raise PlotError("metrics.csv has no finite elbo (or train_loss) value")
    x_all = metrics["epoch"] if "epoch" in metrics else np.arange(len(elbo_all), dtype=float)
    it, elbo = x_all[keep], elbo_all[keep]
    final = summary_number(summary, "elbo")
    which = "final"
    if final is None:  # no summary.json (yet): the last row of metrics.csv
        final, which = float(elbo[-1]), "last logged"
    xlabel = "L-BFGS iteration" if summary.get("optimizer") == "lbfgs" else "iteration"
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.2))
    ax[0].plot(it, elbo, ".-" if len(it) <= 60 else "-", lw=1.4,
               label="ELBO (lower bound on log p(Y))")
    ax[0].axhline(final, color="k", ls="--", lw=1, label=f"{which} ELBO = {final:,.1f}")
    # the first iterations are often far below: zoom on the last 90% when they are
    tail = elbo[len(elbo) // 10:]
    if len(tail) > 1 and elbo.min() < tail.min() - 3 * (tail.max() - tail.min()):
        span = tail.max() - tail.min()
        ax[0].set_ylim(tail.min() - 0.05 * span, tail.max() + 0.05 * span)
        ax[0].text(0.99, 0.02, "earliest iterations below the axis", ha="right", va="bottom",
                   fontsize=8, color="0.4", transform=ax[0].transAxes)
    ax[0].set_xlabel(xlabel)
    ax[0].set_ylabel("ELBO")
    ax[0].set_title("evidence lower bound (a bound on the log marginal likelihood)")
    ax[0].legend(loc="lower right" if len(tail) <= 1 else "center right", fontsize=8)
    ax[0].grid(True, alpha=0.3)
    gap = final - elbo
    okg = np.isfinite(gap) & (gap > 0)
    if okg.any():
        ax[1].semilogy(it[okg], gap[okg], ".-" if len(it) <= 60 else "-", lw=1.4)
    else:
        ax[1].text(0.5, 0.5, f"ELBO never below its {which} value", ha="center", va="center",
                   transform=ax[1].transAxes)
    ax[1].set_xlabel(xlabel)
    ax[1].set_ylabel(f"{which} ELBO − ELBO")
    ax[1].set_title(f"distance below the {which} bound")
    ax[1].grid(True, which="both", alpha=0.3)
    for a in ax:
        a.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    parts = [f"{which} ELBO {final:,.1f}"]
    per = summary_number(summary, "elbo_per_point")
    if per is not None:
        parts.append(f"{per:.6g} per point")
    d, kl = summary_number(summary, "data_term"), summary_number(summary, "kl")
    if d is not None and kl is not None:
        parts.append(f"data term {d:,.1f} − KL {kl:,.1f}")
    fig.suptitle(f"{run_name}  —  " + ",  ".join(parts))
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------- latents and labels

MAX_CLASSES = 20  # integer labels with at most this many values: a legend; else a colorbar


def _colormap(name):
    try:
        return matplotlib.colormaps[name]
    except (AttributeError, KeyError):
        return plt.get_cmap(name)


def ard_lengthscales(q, summary, metrics=None):
    """The q lengthscales lengthscale_0..lengthscale_{q-1} of an ARD kernel:
    summary.json's, else the last metrics.csv row where all are finite and
    positive. None when the run has no such columns (not an ARD kernel)."""
    keys = [f"lengthscale_{k}" for k in range(q)]
    vals = [summary_number(summary or {}, k) for k in keys]
    if all(v is not None and v > 0 for v in vals):
        return np.array(vals, dtype=float)
    if metrics and all(k in metrics for k in keys):
        cols = np.column_stack([metrics[k] for k in keys])
        ok = np.isfinite(cols).all(axis=1) & (cols > 0).all(axis=1)
        if ok.any():
            return cols[ok][-1]
    return None


def latent_axes(Z, summary=None, metrics=None, name="latent", ard=True):
    """The two columns of Z (N x q, q >= 2) to scatter, as
    (i, j, x label, y label, note): 0-based indices, axis labels naming the
    1-based dimensions, and a note ("" for q = 2) saying why these two. With
    ARD lengthscales (ard=True and lengthscale_0.. in summary/metrics) the
    two smallest lengthscales (the most relevant dimensions); otherwise the
    two columns of largest variance."""
    q = Z.shape[1]
    ls = ard_lengthscales(q, summary, metrics) if ard and q >= 2 else None
    if ls is not None:
        i, j = (int(k) for k in np.argsort(ls, kind="stable")[:2])
        xl = f"{name} {i + 1} (lengthscale {ls[i]:.3g})"
        yl = f"{name} {j + 1} (lengthscale {ls[j]:.3g})"
        note = (f"dimensions {i + 1} and {j + 1} of q = {q}: the two smallest ARD lengthscales"
                if q > 2 else "")
        return i, j, xl, yl, note
    if q == 2:
        return 0, 1, f"{name} 1", f"{name} 2", ""
    with np.errstate(invalid="ignore"):
        var = np.array([np.nanvar(c) if np.isfinite(c).any() else -np.inf for c in Z.T])
    i, j = (int(k) for k in np.argsort(-var, kind="stable")[:2])
    note = f"dimensions {i + 1} and {j + 1} of q = {q}: the two of largest variance"
    return i, j, f"{name} {i + 1} (variance {var[i]:.3g})", f"{name} {j + 1} (variance {var[j]:.3g})", note


def read_labels(path):
    """labels.npy as a 1-D float array, or None (absent or unreadable)."""
    if not os.path.isfile(path):
        return None
    try:
        lab = np.load(path, allow_pickle=False)
        return np.asarray(lab, dtype=float).reshape(-1)
    except (OSError, ValueError, TypeError) as e:
        print(f"{PROG}: warning: ignoring {path}: {e}", file=sys.stderr)
        return None


def label_kind(labels):
    """'classes' for integer labels with at most MAX_CLASSES values,
    'continuous' for any other finite labels, 'none' without labels."""
    if labels is None or len(labels) == 0:
        return "none"
    fin = np.isfinite(labels)
    if not fin.any():
        return "none"
    if (fin.all() and np.array_equal(labels, np.round(labels))
            and len(np.unique(labels)) <= MAX_CLASSES):
        return "classes"
    return "continuous"


def integer_labels(labels):
    """True when every label is a finite integer (1-NN errors are about classes)."""
    return (labels is not None and len(labels) > 0 and np.isfinite(labels).all()
            and np.array_equal(labels, np.round(labels)))


def class_colours(k):
    return _colormap("tab10" if k <= 10 else "tab20")(np.arange(k))


def _class_name(v):
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def class_legend_handles(classes):
    from matplotlib.lines import Line2D
    colours = class_colours(len(classes))
    return [Line2D([], [], marker="o", ls="", color=colours[k], label=_class_name(c))
            for k, c in enumerate(classes)]


def scatter_latent(ax, Z, i, j, labels, kind, s, classes=None, norm=None):
    """Scatters columns i, j of Z coloured by labels: one colour per class
    (kind 'classes', colours indexed by position in `classes`) or a
    continuous colormap (kind 'continuous', `norm`; returns the mappable for
    a colorbar). Points are drawn in a fixed random order so that no class
    is painted last on top of the others."""
    order = np.random.default_rng(0).permutation(len(Z))
    if kind == "classes":
        colours = class_colours(len(classes))[np.searchsorted(classes, labels)]
        ax.scatter(Z[order, i], Z[order, j], c=colours[order], s=s, alpha=0.8, linewidths=0)
        return None
    if kind == "continuous":
        fin = np.isfinite(labels)
        if (~fin).any():
            ax.scatter(Z[~fin, i], Z[~fin, j], color="0.75", s=s, linewidths=0,
                       label="label not finite")
        order = order[fin[order]]
        return ax.scatter(Z[order, i], Z[order, j], c=labels[order], cmap="viridis", norm=norm,
                          s=s, alpha=0.9, linewidths=0)
    ax.scatter(Z[:, i], Z[:, j], s=s, linewidths=0)
    return None


def label_colouring(label_sets):
    """For panels whose labels are label_sets (arrays or None): (kinds, classes,
    norms), per panel the kind ('none', 'classes', 'continuous') and norm
    (continuous: its own colour range), and the classes shared by the
    'classes' panels, so that one colour means one class across them (more
    than MAX_CLASSES in all: those panels get a colormap too)."""
    kinds = [label_kind(l) for l in label_sets]
    class_sets = [l for l, k in zip(label_sets, kinds) if k == "classes"]
    classes = np.unique(np.concatenate(class_sets)) if class_sets else None
    if classes is not None and len(classes) > MAX_CLASSES:
        kinds = ["continuous" if k == "classes" else k for k in kinds]
        classes = None
    norms = []
    for l, k in zip(label_sets, kinds):
        if k != "continuous":
            norms.append(None)
            continue
        fin = l[np.isfinite(l)]
        lo, hi = float(fin.min()), float(fin.max())
        norms.append(matplotlib.colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1))
    return kinds, classes, norms


def draw_latent_panels(panels, suptitle=None, label_name="label", decorate=None):
    """panels: [(title, Z (N x q) or None, labels or None, (i, j, xl, yl, note) or None,
    1-NN error or None)]. Returns the figure: one scatter per panel, a
    shared class legend below (integer classes) or a colorbar beside each
    panel (other labels).

    decorate: None, or per panel None or a function f(fig, ax) called after
    the panel's scatter, which may draw more (a background image at a low
    zorder, markers) and add one colorbar (the figure is widened for it); it
    returns legend handles for what it drew, added to the class legend (or,
    without one, to a legend in the panel)."""
    label_sets = [l if (Z is not None and l is not None and len(l) == len(Z)) else None
                  for _, Z, l, _, _ in panels]
    kinds, classes, norms = label_colouring(label_sets)
    n = len(panels)
    decorate = list(decorate or []) + [None] * (n - len(decorate or []))
    bars = kinds.count("continuous") + sum(d is not None for d in decorate)
    fig, axes = plt.subplots(1, n, figsize=(5.8 * n + 0.8 * bars, 5.8), squeeze=False)
    extra_handles = []
    for ax, (title, Z, _, axes_spec, err), labels, kind, norm, deco in zip(
            axes[0], panels, label_sets, kinds, norms, decorate):
        if Z is None or Z.ndim != 2 or Z.shape[1] < 2:
            ax.text(0.5, 0.5, "latent dimension < 2: nothing to scatter", ha="center",
                    va="center", transform=ax.transAxes)
            ax.set_title(title, fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        i, j, xl, yl, note = axes_spec or latent_axes(Z)
        s = 3 if len(Z) > 3000 else 8
        sc = scatter_latent(ax, Z, i, j, labels, kind, s, classes, norm)
        if sc is not None:
            fig.colorbar(sc, ax=ax).set_label(label_name)
        if deco is not None:
            handles = deco(fig, ax) or []
            if "classes" in kinds:
                extra_handles += handles
            elif handles:
                ax.legend(handles=handles, loc="upper right", fontsize=8)
        if note:
            title += "\n" + note
        if err is not None and (labels is None or integer_labels(labels)):
            title += f"\nleave-one-out 1-NN error {err:.3f}"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.tick_params(labelsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    if "classes" in kinds:
        rows = 1 if len(classes) <= 10 else 2
        handles = class_legend_handles(classes) + extra_handles
        fig.legend(handles=handles, loc="lower center",
                   ncol=math.ceil(len(handles) / rows), title=label_name, fontsize=9,
                   bbox_to_anchor=(0.5, 0.0))
        fig.tight_layout(rect=(0, 0.09 + 0.05 * rows, 1, 1))
    else:
        fig.tight_layout()
    return fig


def pca_panel(Z_pca, labels, summary):
    """The PCA panel beside a GPLVM's latents (same dimension, same labels)."""
    return ("PCA to the same dimension", Z_pca, labels,
            latent_axes(Z_pca, name="PCA score", ard=False) if Z_pca.ndim == 2 and Z_pca.shape[1] >= 2 else None,
            summary_number(summary, "pca_knn_error"))


def plot_latent(run_name, X, Z_pca, labels, summary, out_path, metrics=None):
    """GPLVM latents next to PCA's, coloured by label. With q > 2, the two
    most relevant dimensions of each (see latent_axes)."""
    kernel = summary.get("kernel", "?")
    panels = [(f"GPLVM latent X (kernel {kernel})", X, labels,
               latent_axes(X, summary, metrics) if X.ndim == 2 and X.shape[1] >= 2 else None,
               summary_number(summary, "knn_error"))]
    if Z_pca is not None:
        panels.append(pca_panel(Z_pca, labels, summary))
    fig = draw_latent_panels(panels, suptitle=run_name)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------- Bayesian GPLVM

# The predictive-variance background of latent.png, as GPy's plot_latent
# draws it: the log of the variance in the "Greys" colormap, so light = low
# variance (the model is confident there, near the data) and dark = high.
VARIANCE_CMAP = "Greys"


def variance_shading():
    """(low, high): the shade of low and of high predictive variance in
    VARIANCE_CMAP ("light", "dark" for Greys), for captions."""
    return ("dark", "light") if VARIANCE_CMAP.endswith("_r") else ("light", "dark")


def bgplvm_relevance(summary, q, metrics=None):
    """(relevance, what, lengthscales): the ARD relevance of each of the q
    latent dimensions as a float array (summary.json "relevance"; else
    1/ℓ² from the lengthscales, or alpha_0.. of a linear kernel), what it is
    ("1/ℓ²" or "α"), and the q lengthscales (None for a linear kernel).
    relevance is None when the run says neither."""
    kernel = str(summary.get("kernel", ""))
    one = summary_number(summary, "lengthscale")  # rbf: one lengthscale for all dims
    if one is not None and one > 0:
        ls = np.full(q, one)
    else:
        ls = ard_lengthscales(q, summary, metrics)
    what = "α" if kernel == "linear" else "1/ℓ²"
    rel = summary.get("relevance")
    if (isinstance(rel, list) and len(rel) == q
            and all(summary_number({"v": v}, "v") is not None for v in rel)):
        return np.array(rel, dtype=float), what, ls
    if kernel == "linear":
        alpha = [summary_number(summary, f"alpha_{k}") for k in range(q)]
        if all(a is not None for a in alpha):
            return np.array(alpha, dtype=float), what, None
        return None, what, None
    if ls is not None:
        return 1.0 / ls ** 2, what, ls
    return None, what, None


def _int_list(v, q):
    """v as a list of ints in [0, q), or None."""
    if not isinstance(v, list) or not all(isinstance(k, int) and not isinstance(k, bool)
                                          and 0 <= k < q for k in v):
        return None
    return v


def bgplvm_axes(X, summary, metrics=None):
    """The two dimensions of the means X (N x q) to scatter, as latent_axes
    returns them (i, j, x label, y label, note), and whether they are
    summary.json's plot_dims (the dimensions variance_grid.npy was computed
    over). plot_dims first, else the first two of dims_by_relevance, else
    the two of largest relevance, else latent_axes's choice. Axis labels
    name the dimension (1-based) with its relevance and lengthscale."""
    q = X.shape[1]
    rel, what, ls = bgplvm_relevance(summary, q, metrics)
    pd = _int_list(summary.get("plot_dims"), q)
    by = _int_list(summary.get("dims_by_relevance"), q)
    if pd is not None and len(pd) == 2 and pd[0] != pd[1]:
        (i, j), from_grid = pd, True
    elif by is not None and len(by) >= 2 and by[0] != by[1]:
        (i, j), from_grid = by[:2], False
    elif rel is not None and q >= 2:
        (i, j), from_grid = (int(k) for k in np.argsort(-rel, kind="stable")[:2]), False
    else:
        return latent_axes(X, summary, metrics, name="latent mean"), False

    def label(k):
        parts = []
        if rel is not None:
            parts.append(f"relevance {what} {rel[k]:.3g}")
        if ls is not None and what != "α":
            parts.append(f"ℓ {ls[k]:.3g}")
        return f"latent {k + 1}" + (f" ({', '.join(parts)})" if parts else "")

    note = ""
    if q > 2:
        note = f"dimensions {i + 1} and {j + 1} of q = {q}"
        if rel is not None and not np.allclose(rel, rel[0]):
            note += ": the two most relevant"
        elif rel is not None:
            note += " (all equally relevant)"
    return (i, j, label(i), label(j), note), from_grid


def read_variance_grid(run_dir, summary):
    """(variance_grid.npy as a G x G array, extent [x_lo, x_hi, y_lo, y_hi])
    or None when either is missing or malformed (with a warning)."""
    path = os.path.join(run_dir, "variance_grid.npy")
    if not os.path.isfile(path):
        return None
    grid = read_matrix(path, "variance grid")
    ext = summary.get("variance_grid_extent")
    if (not isinstance(ext, list) or len(ext) != 4
            or any(summary_number({"v": v}, "v") is None for v in ext)
            or not (ext[0] < ext[1] and ext[2] < ext[3])):
        print(f"{PROG}: warning: summary.json has no usable variance_grid_extent "
              f"({ext!r}); latent.png without the variance background", file=sys.stderr)
        return None
    if grid.shape[0] < 2 or grid.shape[1] < 2 or not np.isfinite(grid).any():
        print(f"{PROG}: warning: {path} has shape {grid.shape} or no finite values; "
              "latent.png without the variance background", file=sys.stderr)
        return None
    return grid, [float(v) for v in ext]


def variance_background(grid, extent, Zind, i, j, X):
    """A draw_latent_panels decoration: the predictive variance grid (rows:
    dimension j, columns: dimension i) in grey behind the scatter, with a
    colorbar, and the inducing inputs Zind (M x q, or None) as small
    markers. Returns the function."""
    from matplotlib.lines import Line2D
    import matplotlib.patheffects as pe

    def deco(fig, ax):
        handles = []
        xlo, xhi, ylo, yhi = extent
        if grid is not None:
            v = np.where(np.isfinite(grid), grid, np.nan)
            pos = v[np.isfinite(v) & (v > 0)]
            if pos.size and pos.max() > 10 * pos.min():
                norm = matplotlib.colors.LogNorm(vmin=pos.min(), vmax=pos.max())
                v = np.where(np.isfinite(v) & (v <= 0), pos.min(), v)
                scale = "log scale"
            else:
                fin = v[np.isfinite(v)]
                norm = matplotlib.colors.Normalize(vmin=fin.min(), vmax=max(fin.max(), fin.min() + 1e-300))
                scale = "linear scale"
            im = ax.imshow(v, origin="lower", extent=extent, cmap=VARIANCE_CMAP, norm=norm,
                           aspect="auto", interpolation="bilinear", zorder=0)
            cb = fig.colorbar(im, ax=ax, pad=0.02)
            low, high = variance_shading()
            cb.set_label(f"predictive variance of f ({scale}; other dims at 0)\n"
                         f"{low}: low, model confident · {high}: high, uncertain",
                         fontsize=8)
            cb.ax.tick_params(labelsize=7)
        # the view: the grid and the means (the grid is drawn only where computed)
        x0, x1 = min(xlo, np.nanmin(X[:, i])), max(xhi, np.nanmax(X[:, i]))
        y0, y1 = min(ylo, np.nanmin(X[:, j])), max(yhi, np.nanmax(X[:, j]))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        if Zind is not None and Zind.ndim == 2 and Zind.shape[1] > max(i, j):
            inside = ((Zind[:, i] >= x0) & (Zind[:, i] <= x1)
                      & (Zind[:, j] >= y0) & (Zind[:, j] <= y1))
            stroke = [pe.withStroke(linewidth=2.4, foreground="w")]
            ax.scatter(Zind[inside, i], Zind[inside, j], marker="x", s=24, c="k",
                       linewidths=1.1, zorder=4, path_effects=stroke)
            out = int(np.count_nonzero(~inside))
            handles.append(Line2D([], [], marker="x", ls="", color="k", mew=1.1,
                                  label=f"inducing input ({len(Zind)}"
                                        + (f", {out} outside the view" if out else "") + ")"))
        return handles
    return deco


def plot_bgplvm_latent(run_name, X, Z_pca, labels, summary, out_path, metrics=None,
                       Zind=None, grid=None):
    """Bayesian GPLVM: the variational means X (N x q) in the two most
    relevant dimensions (see bgplvm_axes) on the model's predictive variance
    (grid: (G x G array, extent) from read_variance_grid, or None), with the
    inducing inputs Zind, next to PCA's scores; coloured by label."""
    kernel = summary.get("kernel", "?")
    spec, from_grid = bgplvm_axes(X, summary, metrics) if X.shape[1] >= 2 else (None, False)
    deco = None
    if spec is not None:
        i, j = spec[0], spec[1]
        if grid is not None and not from_grid:
            print(f"{PROG}: warning: summary.json has no plot_dims: the variance grid's "
                  "dimensions are unknown; latent.png without it", file=sys.stderr)
            grid = None
        if grid is not None or Zind is not None:
            extent = grid[1] if grid is not None else [np.nanmin(X[:, i]), np.nanmax(X[:, i]),
                                                       np.nanmin(X[:, j]), np.nanmax(X[:, j])]
            deco = variance_background(grid[0] if grid is not None else None, extent,
                                       Zind, i, j, X)
    m = summary.get("inducing")
    about = ([f"kernel {kernel}"] if kernel != "?" else []) + (
        [f"{m} inducing"] if isinstance(m, int) and not isinstance(m, bool) else [])
    panels = [("Bayesian GPLVM latent means" + (f" ({', '.join(about)})" if about else ""),
               X, labels, spec,
               summary_number(summary, "knn_error"))]
    if Z_pca is not None:
        panels.append(pca_panel(Z_pca, labels, summary))
    fig = draw_latent_panels(panels, suptitle=run_name, decorate=[deco])
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


def plot_bgplvm_run_latent(run_name, run_dir, X_mean, summary, out_path, metrics=None):
    """plot_bgplvm_latent with what RUN_DIR holds besides X_mean: labels.npy,
    pca_latent.npy, Z.npy, variance_grid.npy (each optional; a warning when
    one does not fit X_mean)."""
    labels = read_labels(os.path.join(run_dir, "labels.npy"))
    if labels is not None and len(labels) != len(X_mean):
        print(f"{PROG}: warning: labels.npy has {len(labels)} values for {len(X_mean)} "
              "latent rows; not colouring by label", file=sys.stderr)
        labels = None
    Z_pca = read_matrix(os.path.join(run_dir, "pca_latent.npy"), "PCA latent")
    Zind = read_matrix(os.path.join(run_dir, "Z.npy"), "inducing inputs Z")
    if Zind is not None and Zind.shape[1] != X_mean.shape[1]:
        print(f"{PROG}: warning: Z.npy has {Zind.shape[1]} columns for q = "
              f"{X_mean.shape[1]}; inducing inputs not drawn", file=sys.stderr)
        Zind = None
    grid = read_variance_grid(run_dir, summary)
    plot_bgplvm_latent(run_name, X_mean, Z_pca, labels, summary, out_path, metrics, Zind, grid)


def plot_relevance(run_name, summary, q, out_path, metrics=None):
    """Bayesian GPLVM: the ARD relevance of each latent dimension as bars
    (GPy's plot_ARD), the active ones (summary.json active_dims) coloured,
    the others grey. A log axis when the relevances span over two decades."""
    rel, what, ls = bgplvm_relevance(summary, q, metrics)
    if rel is None:
        raise PlotError("summary.json has no relevance (nor lengthscales / alpha_k): "
                        "cannot draw relevance.png")
    active = _int_list(summary.get("active_dims"), q)
    active = set(active) if active is not None else set(range(q))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * q + 2.5), 4.4))
    dims = np.arange(q)
    colours = ["C0" if k in active else "0.7" for k in dims]
    ax.bar(dims + 1, rel, color=colours, edgecolor="k", linewidth=0.8)
    pos = rel[np.isfinite(rel) & (rel > 0)]
    if pos.size and pos.max() > 100 * pos.min():
        ax.set_yscale("log")
    if ls is not None and what != "α" and q <= 20:
        for k in dims:
            ax.annotate(f"ℓ {ls[k]:.3g}", (k + 1, rel[k]), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7)
        ax.margins(y=0.12)
    ax.set_xticks(dims + 1)
    ax.set_xlabel("latent dimension")
    ax.set_ylabel(f"relevance {what}" + (" (ARD)" if what != "α" else " (linear ARD weight)"))
    from matplotlib.patches import Patch
    handles = [Patch(facecolor="C0", edgecolor="k", label=f"active ({len(active)})")]
    if len(active) < q:
        handles.append(Patch(facecolor="0.7", edgecolor="k", label=f"inactive ({q - len(active)})"))
    ax.legend(handles=handles, fontsize=8)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    kernel = summary.get("kernel", "?")
    ax.set_title(f"ARD relevance per latent dimension: {len(active)} of {q} active", fontsize=10)
    fig.suptitle(run_name + (f"  (kernel {kernel})" if kernel != "?" else ""), fontsize=11)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------- accuracy

def has_accuracy(metrics):
    return any(c in metrics and np.isfinite(metrics[c]).any()
               for c in ("train_accuracy", "test_accuracy"))


def plot_accuracy(run_name, metrics, summary, out_path, target=None, title=None):
    """Train and test accuracy (metrics.csv train_accuracy, test_accuracy) per
    epoch, in percent, with an optional target line (e.g. 95)."""
    epoch = metrics.get("epoch")
    if epoch is not None and np.isfinite(epoch).all():
        x, xlabel = epoch, "epoch"
    else:
        x, xlabel = np.arange(len(metrics["train_loss"]), dtype=float), "row of metrics.csv"
    marker = "o" if len(x) <= 40 else None
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    shown = []
    for col, label, c in (("train_accuracy", "train accuracy", "C0"),
                          ("test_accuracy", "test accuracy (held out)", "C1")):
        if col in metrics:
            y = metrics[col] * 100
            ok = np.isfinite(y)
            if ok.any():
                ax.plot(x[ok], y[ok], marker=marker, ms=3, lw=1.6, color=c, label=label)
                shown.append(y[ok])
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=1, label=f"{target:g}% (target)")
    # zoom past the initial (untrained) row when every later one is far above it
    note = ""
    if shown:
        first = min(float(y[0]) for y in shown)
        later = [float(v) for y in shown for v in y[1:]]
        if later and min(later) > 20 and first < min(later) - 5:
            lo = max(0.0, math.floor((min(min(later), target or 100.0) - 2) / 5) * 5)
            note = " (the initial row below the axis)"
        else:
            lo = max(0.0, min(float(np.min(y)) for y in shown) - 2)
        ax.set_ylim(lo, 100.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy (%)")
    ax.set_title("accuracy per epoch" + note)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    parts = []
    for key, what in (("train_accuracy", "train"), ("test_accuracy", "test")):
        v = summary_number(summary, key)
        if v is not None:
            parts.append(f"final {what} accuracy {v * 100:.2f}%")
    fig.suptitle((title or run_name) + ("   —   " + ",  ".join(parts) if parts else ""))
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------- main

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
        X_mean = read_matrix(os.path.join(run_dir, "X_mean.npy"), "X_mean")
        X = None if X_mean is not None else read_matrix(os.path.join(run_dir, "X.npy"), "X")
        if X_mean is not None:  # a Bayesian GPLVM run
            loss_png = os.path.join(out_dir, "loss_curve.png")
            plot_elbo(run_name, metrics, summary, loss_png)
            written.append(loss_png)
            latent_png = os.path.join(out_dir, "latent.png")
            plot_bgplvm_run_latent(run_name, run_dir, X_mean, summary, latent_png, metrics)
            written.append(latent_png)
            if bgplvm_relevance(summary, X_mean.shape[1], metrics)[0] is not None:
                rel_png = os.path.join(out_dir, "relevance.png")
                plot_relevance(run_name, summary, X_mean.shape[1], rel_png, metrics)
                written.append(rel_png)
            else:
                print(f"{PROG}: summary.json has no relevance (nor lengthscales / alpha_k); "
                      "relevance.png not written", file=sys.stderr)
        elif X is not None:  # a GPLVM run
            loss_png = os.path.join(out_dir, "loss_curve.png")
            plot_likelihood(run_name, metrics, summary, loss_png)
            written.append(loss_png)
            labels = read_labels(os.path.join(run_dir, "labels.npy"))
            if labels is not None and len(labels) != len(X):
                print(f"{PROG}: warning: labels.npy has {len(labels)} values for {len(X)} "
                      "latent rows; not colouring by label", file=sys.stderr)
                labels = None
            Z = read_matrix(os.path.join(run_dir, "pca_latent.npy"), "PCA latent")
            latent_png = os.path.join(out_dir, "latent.png")
            plot_latent(run_name, X, Z, labels, summary, latent_png, metrics)
            written.append(latent_png)
        else:
            loss_png = os.path.join(out_dir, "loss_curve.png")
            plot_loss(run_name, metrics, summary, loss_png)
            written.append(loss_png)
            if W is not None or U is not None:
                comp_png = os.path.join(out_dir, "components.png")
                plot_components(run_name, W, U, summary, comp_png)
                written.append(comp_png)
            elif str(summary.get("model", "")).endswith("autoencoder"):
                print(f"{PROG}: no W.npy or pca_components.npy in {run_dir}; "
                      "components.png not written", file=sys.stderr)
        if has_accuracy(metrics):
            acc_png = os.path.join(out_dir, "accuracy.png")
            plot_accuracy(run_name, metrics, summary, acc_png)
            written.append(acc_png)
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
