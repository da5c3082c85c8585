#!/usr/bin/env python3
"""Writes the report of a set of LatentLab runs (scripts/reproduce: the homework's).

Usage: make_report.py RUNS_DIR REPORT_DIR [--build-dir DIR] [--repo DIR]

RUNS_DIR holds one run directory per config (what scripts/reproduce makes:
runs/reproduce/<config stem>/ with summary.json, metrics.csv, the .npy files)
and, optionally, what scripts/reproduce captured next to them:
  _timings.tsv        step<TAB>seconds<TAB>status, one line per step (setup,
                      build, run:<stem>, derivations, gradcheck:<stem>, total)
  _derivations.md     the output of build/derivations (a Markdown table)
  _gradcheck/<stem>.txt  the output of build/train --config <stem> --gradcheck

Writes REPORT_DIR/index.md (Markdown, readable on its own) and the PNGs it
shows, linked relatively. Prints the headline numbers on stdout.

A run is "the homework's" when REPO/configs/<its name>.yaml exists and agrees
with the run's config.yaml on data.source, model.type, model.kernel and
model.activation; only those are described with the homework's words
(Problem 1-3, the 95% target). Other data is worded by its config: images
(W's rows as side x side pictures) only when the data dimension is a perfect
square, "digits" only for data.source mnist.

Needs numpy and matplotlib (Debian: python3-numpy python3-matplotlib). When
started by a Python without them, it re-runs itself with /usr/bin/python3.
"""
import argparse
import csv
import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys

PROG = "make_report.py"

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
            and not os.environ.get("MAKE_REPORT_REEXEC")):
        os.environ["MAKE_REPORT_REEXEC"] = "1"
        os.execv(_system, [_system, os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit(f"{PROG}: needs numpy and matplotlib ({_e}): run scripts/setup "
             "(Debian: apt-get install python3-numpy python3-matplotlib)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_run  # noqa: E402  (the per-run plots: loss curve, components, likelihood)

DPI = 110
AE_MODELS = ("linear_autoencoder", "nonlinear_autoencoder")


class ReportError(Exception):
    pass


# ----------------------------------------------------------------- helpers

def num(v):
    """A finite float, or None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def fmt(v, spec=".4g", none="—"):
    v = num(v)
    return none if v is None else format(v, spec)


def fmt_seconds(s):
    s = num(s)
    if s is None:
        return "—"
    if s < 60:
        return f"{s:.1f} s"
    return f"{s:.0f} s ({int(s // 60)} min {s % 60:02.0f} s)"


def md_escape(text):
    return str(text).replace("|", "\\|")


def md_table(header, rows, align=None):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(align or ["---"] * len(header)) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def run_cmd(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return p.stdout if p.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def read_simple_yaml(path):
    """The run's config.yaml as {"section.key": "value"} (LatentLab writes a
    two-level mapping of scalars; PyYAML is used when present)."""
    flat = {}
    if not os.path.isfile(path):
        return flat
    try:
        import yaml  # optional
        with open(path) as f:
            doc = yaml.safe_load(f) or {}

        def walk(prefix, node):
            if isinstance(node, dict):
                for k, v in node.items():
                    walk(f"{prefix}{k}.", v)
            else:
                flat[prefix[:-1]] = "" if node is None else str(node)
        walk("", doc)
        return flat
    except ImportError:
        pass
    except Exception as e:  # a malformed file: fall back to the line parser
        print(f"{PROG}: warning: {path}: {e}", file=sys.stderr)
    section = None
    with open(path) as f:
        for line in f:
            line = line.split(" #")[0].rstrip()
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = re.match(r"^(\s*)([^:]+):\s*(.*)$", line)
            if not m:
                continue
            indent, key, value = m.groups()
            value = value.strip().strip('"').strip("'")
            if not indent:
                if value == "":
                    section = key.strip()
                else:
                    section = None
                    flat[key.strip()] = value
            elif section:
                flat[f"{section}.{key.strip()}"] = value
    return flat


# ----------------------------------------------------------------- runs

class Run:
    def __init__(self, path):
        self.path = path
        self.stem = os.path.basename(os.path.normpath(path))
        self.summary = plot_run.read_summary(os.path.join(path, "summary.json"))
        if not self.summary:
            raise ReportError(f"{path}/summary.json is missing or unreadable")
        metrics_path = os.path.join(path, "metrics.csv")
        if not os.path.isfile(metrics_path):
            raise ReportError(f"{metrics_path} is missing")
        self.metrics = plot_run.read_metrics(metrics_path)
        self.config = read_simple_yaml(os.path.join(path, "config.yaml"))
        self.model = str(self.summary.get("model", "?"))
        self.optimizer = str(self.summary.get("optimizer", self.config.get("optim.type", "?")))
        self.wall = None  # from _timings.tsv
        self.homework = False  # set by mark_homework_runs

    @property
    def source(self):
        return self.config.get("data.source", "")

    @property
    def rows_noun(self):
        return {"mnist": "digits", "fashion-mnist": "images"}.get(self.source, "points")

    @property
    def label_noun(self):
        return {"mnist": "digit", "fashion-mnist": "class"}.get(self.source, "label")

    def labels(self):
        return plot_run.read_labels(os.path.join(self.path, "labels.npy"))

    @property
    def class_labels(self):
        """False when labels.npy holds non-integer values (a continuous
        target such as a swiss roll's t): the 1-NN error says nothing then."""
        if not hasattr(self, "_class_labels"):
            lab = self.labels()
            self._class_labels = lab is None or plot_run.integer_labels(lab)
        return self._class_labels

    def get(self, key, default=None):
        return self.summary.get(key, default)

    def npy(self, name):
        p = os.path.join(self.path, name)
        if not os.path.isfile(p):
            return None
        try:
            a = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ReportError(f"{p}: not a readable .npy file ({e})") from None
        if a.dtype.kind not in "fiu" or (a.dtype.kind == "f" and not np.all(np.isfinite(a))):
            raise ReportError(f"{p}: holds NaN, Inf or non-real values (a run writes finite values only)")
        return a

    @property
    def is_ae(self):
        return self.model in AE_MODELS

    @property
    def data_desc(self):
        src = self.config.get("data.source", "?")
        if src in ("idx", "npy", "csv"):
            src = os.path.basename(self.config.get("data.path", src)) or src
        n_train, n_test = num(self.get("n_train")), num(self.get("n_test"))
        parts = [src]
        if n_train is not None:
            parts.append(f"{int(n_train):,}" + (f" + {int(n_test):,} test" if n_test else ""))
        if self.config.get("data.center", "").lower() == "true":
            parts.append("centred")
        return ", ".join(parts)

    @property
    def iterations_label(self):
        e = self.get("epochs")
        if self.model in ("gplvm", "bayesian_gplvm"):
            return f"{e} iterations" if e is not None else "—"
        return f"{e} epochs" if e is not None else "—"


def load_runs(runs_dir):
    runs = []
    for name in sorted(os.listdir(runs_dir)):
        d = os.path.join(runs_dir, name)
        if name.startswith(("_", ".")) or not os.path.isdir(d):
            continue
        if not os.path.isfile(os.path.join(d, "summary.json")):
            print(f"{PROG}: warning: {d} has no summary.json; skipped", file=sys.stderr)
            continue
        runs.append(Run(d))
    if not runs:
        raise ReportError(f"no run directories (with summary.json) in {runs_dir}")
    return runs


HOMEWORK_KEYS = ("data.source", "model.type", "model.kernel", "model.activation")


def mark_homework_runs(runs, repo):
    """Sets run.homework: the run is named after one of REPO/configs/*.yaml
    (as scripts/reproduce names them) and agrees with it on HOMEWORK_KEYS
    (those the config file sets)."""
    configs = os.path.join(repo, "configs")
    for r in runs:
        path = os.path.join(configs, r.stem + ".yaml")
        if not os.path.isfile(path):
            continue
        ref = read_simple_yaml(path)

        def resolved(conf, k):
            v = conf.get(k, "")
            if k == "model.activation" and v in ("", "auto"):  # what auto means for the model
                v = "swish" if r.model == "mlp" else "sigmoid" if r.model == "nonlinear_autoencoder" else v
            return v
        r.homework = bool(ref) and all(resolved(ref, k) == resolved(r.config, k)
                                       for k in HOMEWORK_KEYS if k in ref)


def read_timings(path):
    """[(step, seconds or None, status)] from _timings.tsv."""
    rows = []
    if not os.path.isfile(path):
        return rows
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[0]:
                continue
            try:
                sec = float(parts[1])
            except ValueError:
                sec = None
            rows.append((parts[0], sec, parts[2] if len(parts) > 2 else ""))
    return rows


def ordinal(n):
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def eigengap(run):
    """(m, λ_m/λ_{m+1} − 1) from pca_eigenvalues.npy (descending), or None."""
    lam = run.npy("pca_eigenvalues.npy")
    try:
        m = int(run.config.get("model.latent_dim", ""))
    except ValueError:
        return None
    if lam is None or lam.ndim != 1 or len(lam) <= m or m < 1:
        return None
    lam = np.sort(lam)[::-1]
    return (m, float(lam[m - 1] / lam[m] - 1.0)) if lam[m] > 0 else None



def knn_sentence(s, class_labels):
    """A GPLVM run's leave-one-out 1-NN error next to PCA's, or why there is none."""
    if not class_labels:
        return "labels not classes: no 1-NN error"
    return f"1-NN error {fmt(s.get('knn_error'), '.4f')} (PCA {fmt(s.get('pca_knn_error'), '.4f')})"

def headline(run):
    """(main result, secondary result) as Markdown text."""
    s = run.summary
    if run.model == "linear_autoencoder":
        main = f"L/L\\* = {fmt(s.get('loss_ratio'), '.7f')}"
        sec = (f"max angle {fmt(s.get('max_principal_angle_deg'), '.3g')}°, "
               f"mean {fmt(s.get('mean_principal_angle_deg'), '.3g')}°")
        return main, sec
    if run.model == "nonlinear_autoencoder":
        main = (f"L = {fmt(s.get('final_loss'), '.5g')} "
                f"(linear L\\* = {fmt(s.get('optimal_loss'), '.5g')}; "
                f"ratio {fmt(s.get('loss_ratio'), '.4g')}, reported only)")
        sec = f"test loss {fmt(s.get('final_test_loss'), '.5g')}"
        return main, sec
    if run.model == "mlp":
        acc = num(s.get("test_accuracy"))
        main = f"test accuracy {acc * 100:.2f}%" if acc is not None else "test accuracy —"
        tr = num(s.get("train_accuracy"))
        sec = (f"train accuracy {tr * 100:.2f}%" if tr is not None else "") + \
              (f", test loss {fmt(s.get('final_test_loss'), '.4g')}" if num(s.get("final_test_loss")) is not None else "")
        return main, sec
    if run.model == "gplvm":
        main = f"log-likelihood {fmt(s.get('log_likelihood'), ',.2f')}"
        if num(s.get("likelihood_gap")) is not None:
            main += f" (analytic max − it = {fmt(s.get('likelihood_gap'), '.2g')})"
        sec = knn_sentence(s, run.class_labels)
        return main, sec
    if run.model == "bayesian_gplvm":
        main = f"ELBO {fmt(s.get('elbo'), ',.2f')}"
        if num(s.get("active_dim_count")) is not None:
            main += f" ({int(s['active_dim_count'])} active latent dims)"
        sec = knn_sentence(s, run.class_labels)
        return main, sec
    return f"final loss {fmt(s.get('final_loss'), '.6g')}", ""


# ----------------------------------------------------------------- figures

def save(fig, report_dir, name, written):
    path = os.path.join(report_dir, name)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    written.append(name)
    return name


def x_epoch(run):
    m = run.metrics
    return m["epoch"] if "epoch" in m else np.arange(len(m["train_loss"]), dtype=float)


def fig_optimizer_comparison(runs, report_dir, written):
    """Loss of the given linear AE runs (same data, same L*) against L*."""
    l_star = num(runs[0].get("optimal_loss"))
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for i, r in enumerate(runs):
        c = f"C{i}"
        label = f"{r.stem} ({r.optimizer}, {r.iterations_label})"
        x, L = x_epoch(r), r.metrics["train_loss"]
        ok = np.isfinite(L) & (L > 0)
        axes[0].plot(x[ok], L[ok], color=c, lw=1.6, label=label)
        gap = L / l_star - 1.0
        okg = np.isfinite(gap) & (gap > 0)
        axes[1].plot(x[okg], gap[okg], color=c, lw=1.6, label=label)
        if "seconds" in r.metrics:
            t = r.metrics["seconds"]
            okt = okg & np.isfinite(t)
            axes[2].plot(t[okt], gap[okt], color=c, lw=1.6, label=label)
    axes[0].axhline(l_star, color="k", ls="--", lw=1.2, label=f"L* (exact, PCA) = {l_star:.6g}")
    axes[0].set_yscale("log")
    plot_run._label_short_log_axis(axes[0])
    axes[0].set_title("training loss L (batch mean of ½‖WᵀWx − x‖²)")
    axes[0].set_ylabel("L")
    axes[1].set_title("relative excess loss L/L* − 1")
    axes[1].set_ylabel("L / L* − 1")
    axes[2].set_title("L/L* − 1 against training time")
    axes[2].set_ylabel("L / L* − 1")
    axes[2].set_xlabel("training seconds (metrics.csv)")
    for ax in axes[:2]:
        ax.set_xlabel("epoch")
    for ax in axes[1:]:
        ax.set_yscale("log")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Tied linear autoencoder: SGD and Adam against the exact optimum L*")
    fig.tight_layout()
    return save(fig, report_dir, "ae_optimizers.png", written)


def fig_angles(ae_runs, report_dir, written):
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for i, r in enumerate(ae_runs):
        a = r.get("principal_angles_deg")
        if not isinstance(a, list) or not a:
            continue
        a = np.sort(np.array(a, dtype=float))
        nonlin = r.model != "linear_autoencoder"
        ax.plot(np.arange(1, len(a) + 1), np.maximum(a, 1e-4), marker="o", ms=3,
                lw=1.3, ls="--" if nonlin else "-", color=f"C{i}",
                label=f"{r.stem} ({r.optimizer})" + ("  [nonlinear: reported only]" if nonlin else "")
                + f": max {a.max():.3g}°, mean {a.mean():.3g}°")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: f"{v:g}°"))
    ax.set_xlabel("principal angle index (sorted, smallest first)")
    ax.set_ylabel("angle (degrees, log scale)")
    ax.set_title("Principal angles between row-space(W) and the top-m PCA eigenvectors")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return save(fig, report_dir, "principal_angles.png", written)


def fig_latents(panels, report_dir, written, label_name="label"):
    """panels: [(title, Z (N x q), labels or None, (i, j, x label, y label, note) or
    None, 1-NN error or None)]; with q > 2 the two dimensions plot_run.latent_axes
    picks. Integer labels (at most 20 values): a shared class legend; other
    labels: a colormap and colorbars."""
    fig = plot_run.draw_latent_panels(panels, label_name=label_name)
    return save(fig, report_dir, "gplvm_latents.png", written)


def bgplvm_q(run):
    """The latent dimension q of a Bayesian GPLVM run (from relevance or
    X_mean.npy), or None."""
    rel = run.get("relevance")
    if isinstance(rel, list) and rel:
        return len(rel)
    X = run.npy("X_mean.npy")
    return X.shape[1] if X is not None and X.ndim == 2 else None


def activation(run):
    """model.activation resolved (auto: sigmoid for the AE, swish for the MLP)."""
    a = run.config.get("model.activation", "auto") or "auto"
    if a == "auto":
        a = "swish" if run.model == "mlp" else "sigmoid"
    return a


def mlp_activation(run):
    a = activation(run)
    return {"swish": "Swish", "relu": "ReLU", "identity": "linear"}.get(a, a)


def fig_mlp(run, report_dir, written, name):
    m = run.metrics
    x = x_epoch(run)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    ax = axes[0]
    for col, label, c in (("train_accuracy", "train accuracy", "C0"),
                          ("test_accuracy", "test accuracy (held out)", "C1")):
        if col in m:
            y = m[col] * 100
            ok = np.isfinite(y)
            ax.plot(x[ok], y[ok], marker="o", ms=3, color=c, label=label)
    acc = num(run.get("test_accuracy"))
    if acc is not None:
        ax.axhline(acc * 100, color="C1", ls=":", lw=1)
    if run.homework:
        ax.axhline(95, color="k", ls="--", lw=1, label="95% (the issue's target)")
    later = m["test_accuracy"][1:] * 100 if "test_accuracy" in m else np.array([])
    later = later[np.isfinite(later)]
    lo = 80 if len(later) and later.min() > 80 else 0
    below = lo and any(c in m and len(m[c]) and m[c][0] * 100 < lo
                       for c in ("train_accuracy", "test_accuracy"))
    ax.set_ylim(lo, 100.5)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("accuracy per epoch" + (" (epoch 0, untrained, below the axis)" if below else ""))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    ax = axes[1]
    for col, label, c in (("train_loss", "train", "C0"), ("test_loss", "test (held out)", "C1")):
        if col in m:
            y = m[col]
            ok = np.isfinite(y) & (y > 0)
            ax.plot(x[ok], y[ok], marker="o", ms=3, color=c, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("softmax cross-entropy")
    ax.set_title("loss per epoch")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    for ax in axes:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    title = f"{run.stem}: two-layer {mlp_activation(run)} network"
    if acc is not None:
        title += f" — final test accuracy {acc * 100:.2f}%"
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, report_dir, name, written)


def fig_rbf_hyper(run, report_dir, written, name):
    m = run.metrics
    keys = [k for k in ("signal_variance", "lengthscale") if k in m]
    keys += sorted((k for k in m if re.fullmatch(r"lengthscale_\d+", k)), key=lambda k: int(k[12:]))
    keys += [k for k in ("noise_variance",) if k in m]
    ll = m.get("log_likelihood")
    if ll is None:
        ll = -m["train_loss"]
    x = x_epoch(run)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
    ok = np.isfinite(ll)
    axes[0].plot(x[ok], ll[ok], lw=1.4)
    axes[0].set_xlabel("L-BFGS iteration")
    axes[0].set_ylabel("log-likelihood")
    axes[0].set_title("log-likelihood")
    axes[0].grid(True, alpha=0.3)
    for k in keys:
        y = m[k]
        okk = np.isfinite(y) & (y > 0)
        axes[1].plot(x[okk], y[okk], lw=1.4, label=k)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("L-BFGS iteration")
    axes[1].set_title("kernel hyperparameters (learned)")
    axes[1].grid(True, which="both", alpha=0.3)
    if keys:
        axes[1].legend()
    fig.suptitle(f"{run.stem}: final log-likelihood {fmt(run.get('log_likelihood'), ',.2f')}")
    fig.tight_layout()
    return save(fig, report_dir, name, written)


# ----------------------------------------------------------------- derivations, gradcheck

def split_md_row(line):
    cells = re.split(r"(?<!\\)\|", line.strip())
    if cells and cells[0] == "":
        cells = cells[1:]
    if cells and cells[-1] == "":
        cells = cells[:-1]
    return [c.strip() for c in cells]


def derivation_counts(text):
    """Counts from the derivations table: {kind: [ok, total]} and listed ones."""
    header, counts, listed = None, {}, {}
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = split_md_row(line)
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if all(set(c) <= set("-: ") for c in cells):
            continue
        row = dict(zip(header, cells))
        kind = row.get("kind", "")
        ok = row.get("ok", "") in ("✓", "yes", "ok", "pass")
        base = ("correct" if kind.startswith("correct") else
                "wrong" if kind.startswith("wrong") else
                "equivalent" if kind.startswith("equivalent") else kind)
        c = counts.setdefault(base, [0, 0])
        c[0] += ok
        c[1] += 1
        if "listed" in kind:
            c = listed.setdefault(base, [0, 0])
            c[0] += ok
            c[1] += 1
    return counts, listed


def parse_gradcheck(text):
    """(first line, header cells, rows, trailing lines) or None if unrecognised."""
    lines = [l.rstrip() for l in text.splitlines()]
    for i, l in enumerate(lines):
        if l.startswith("parameter"):
            header = re.split(r"\s{2,}", l.strip())
            rows, j = [], i + 1
            while j < len(lines) and lines[j].strip():
                cells = lines[j].split()
                if len(cells) != len(header):
                    break
                rows.append(cells)
                j += 1
            if not rows:
                return None
            return "\n".join(lines[:i]), header, rows, [l for l in lines[j:] if l.strip()]
    return None


# ----------------------------------------------------------------- environment

def environment(repo, build_dir, runs):
    env = []
    now = datetime.datetime.now().astimezone()
    env.append(("date", now.strftime("%Y-%m-%d %H:%M:%S %Z")))
    lscpu = run_cmd(["lscpu"])
    model = re.search(r"^Model name:\s*(.+)$", lscpu, re.M)
    env.append(("CPU", model.group(1).strip() if model else platform.processor() or "?"))
    cores = re.search(r"^CPU\(s\):\s*(\d+)$", lscpu, re.M)
    env.append(("cores (logical CPUs)", cores.group(1) if cores else str(os.cpu_count())))
    osr = {}
    if os.path.isfile("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                osr[k] = v.strip('"')
    env.append(("OS", f"{osr.get('PRETTY_NAME', platform.system())}, kernel {platform.release()}"))

    pkgs = ["libopenblas0-pthread", "libopenblas0-openmp", "libopenblas0-serial",
            "libopenblas-dev", "liblapack3", "libxtensor-dev", "libxtensor-blas-dev",
            "libxsimd-dev", "libyaml-cpp-dev", "libspdlog-dev", "libcli11-dev", "g++", "cmake",
            "python3-numpy", "python3-matplotlib"]
    out = run_cmd(["dpkg-query", "-W", "-f=${Package}\t${Version}\t${Status}\n"] + pkgs)
    versions = []
    for line in out.splitlines():
        p = line.split("\t")
        if len(p) == 3 and p[2].endswith(" installed") and "not-installed" not in p[2]:
            versions.append(f"{p[0]} {p[1]}")
    env.append(("Debian packages", ", ".join(versions) if versions else "(dpkg-query unavailable)"))

    cache = os.path.join(build_dir, "CMakeCache.txt")
    cxx, build_type, flags = "c++", "?", ""
    if os.path.isfile(cache):
        with open(cache) as f:
            text = f.read()
        m = re.search(r"^CMAKE_CXX_COMPILER:FILEPATH=(.+)$", text, re.M)
        cxx = m.group(1) if m else cxx
        m = re.search(r"^CMAKE_BUILD_TYPE:STRING=(.*)$", text, re.M)
        build_type = m.group(1) if m else build_type
        if build_type:
            m = re.search(rf"^CMAKE_CXX_FLAGS_{build_type.upper()}:STRING=(.*)$", text, re.M)
            flags = m.group(1) if m else ""
    ver = run_cmd([cxx, "--version"]).splitlines()
    env.append(("compiler", f"{ver[0] if ver else cxx} ({cxx}); build type {build_type or '?'}"
                + (f" `{flags}`" if flags else "")))

    train = os.path.join(build_dir, "train")
    blas = ""
    ldd = run_cmd(["ldd", train]) if os.path.isfile(train) else ""
    for line in ldd.splitlines():
        if re.search(r"blas|lapack", line):
            lib = line.split("=>")[-1].split("(")[0].strip()
            real = os.path.realpath(lib) if lib else ""
            blas += f"{line.split()[0]} → {real or lib}; "
    env.append(("BLAS/LAPACK linked by build/train", blas.rstrip("; ") or "?"))
    threads = sorted({int(t) for t in (num(r.get("threads")) for r in runs) if t is not None})
    tenv = ", ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
                     if k in os.environ)
    env.append(("BLAS threads used (summary.json `threads`)",
                (", ".join(map(str, threads)) or "?") + (f" ({tenv})" if tenv else "")))
    env.append(("Python (report)", f"{platform.python_version()}, numpy {np.__version__}, "
                                   f"matplotlib {matplotlib.__version__}"))
    head = run_cmd(["git", "-C", repo, "rev-parse", "--short", "HEAD"]).strip()
    if head:
        dirty = run_cmd(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"])
        n = len([l for l in dirty.splitlines() if l.strip()])
        env.append(("source", f"git {head}" + (f" with {n} modified tracked file(s)" if n else " (clean)")))
    return env


# ----------------------------------------------------------------- the report

def make_report(runs_dir, report_dir, build_dir, repo):
    runs = load_runs(runs_dir)
    mark_homework_runs(runs, repo)
    all_homework = all(r.homework for r in runs)
    by_stem = {r.stem: r for r in runs}
    timings = read_timings(os.path.join(runs_dir, "_timings.tsv"))
    tmap = {step: (sec, status) for step, sec, status in timings}
    for r in runs:
        sec = tmap.get(f"run:{r.stem}", (None, ""))[0]
        r.wall = sec if sec is not None else num(r.get("wall_seconds_this_session"))
    os.makedirs(report_dir, exist_ok=True)
    written = []
    md = []
    heads = []  # lines for stdout

    total = tmap.get("total", (None, ""))[0]
    runs_shown = runs_dir
    if os.path.isabs(runs_dir) and not os.path.relpath(runs_dir, repo).startswith(".."):
        runs_shown = os.path.relpath(runs_dir, repo)
    if all_homework:
        md.append("# LatentLab: the homework, reproduced\n")
        md.append(
            f"Generated by `scripts/make_report.py` from the runs in `{runs_shown}` "
            "(made by `scripts/reproduce`: every config in `configs/`, the derivation checker and "
            "a gradient check per config). The homework: README, Reproducing the homework "
            "(Problem 1: tied autoencoder; Problem 2: GPLVM; Problem 3: Swish network)."
            + (f" Whole reproduction (setup, build, runs, checks): **{fmt_seconds(total)}**." if total else "")
            + "\n")
    else:
        hw = [r for r in runs if r.homework]
        md.append(f"# LatentLab: the runs in `{runs_shown}`\n")
        md.append(
            f"Generated by `scripts/make_report.py` from the {len(runs)} run directories in "
            f"`{runs_shown}`: per model, what each run reached and how it got there."
            + (" " + ", ".join(f"`{r.stem}`" for r in hw) + (" is" if len(hw) == 1 else " are")
               + " the homework's config" + ("" if len(hw) == 1 else "s")
               + " of the same name (README, Reproducing the homework)." if hw else "")
            + (f" Whole run (setup, build, runs, checks): **{fmt_seconds(total)}**." if total else "")
            + "\n")

    # --- headline
    md.append("## Headline\n")
    rows = []
    for r in runs:
        main, sec = headline(r)
        rows.append([f"`{r.stem}`", r.model, r.optimizer, md_escape(r.data_desc), main, sec,
                     r.iterations_label, fmt(r.get("seconds"), ".1f"), fmt(r.wall, ".1f"),
                     str(r.get("status", "?"))])
        heads.append(f"{r.stem}: {main.replace(chr(92), '')}; {sec}")
    md.append(md_table(["run", "model", "optimiser", "data", "result", "also", "length",
                        "train s", "wall s", "status"], rows))
    md.append("\n*train s*: the training loop (summary.json `seconds`); *wall s*: the whole "
              "`build/train` process (data loading, PCA/reference, training, outputs), timed by "
              "`scripts/reproduce`.\n")

    # --- derivations (counts early: they are headline numbers)
    deriv_path = os.path.join(runs_dir, "_derivations.md")
    deriv_text = open(deriv_path).read() if os.path.isfile(deriv_path) else ""
    counts, listed = derivation_counts(deriv_text) if deriv_text else ({}, {})
    if counts:
        c, w, e = (counts.get(k, [0, 0]) for k in ("correct", "wrong", "equivalent"))
        lw, le = listed.get("wrong", [0, 0]), listed.get("equivalent", [0, 0])
        line = (f"derivation checker: {c[0]}/{c[1]} formulas match finite differences, "
                f"{w[0]}/{w[1]} wrong variants caught ({lw[0]}/{lw[1]} of the listed ones), "
                f"{e[0]}/{e[1]} equivalent forms equal ({le[0]}/{le[1]} listed pairs)")
        md.append(f"**Derivations:** {c[0]}/{c[1]} formulas of the homework match central finite "
                  f"differences; {w[0]}/{w[1]} wrong variants caught ({lw[0]}/{lw[1]} of "
                  f"the listed ones); {e[0]}/{e[1]} equivalent forms equal ({le[0]}/{le[1]} "
                  "listed pairs). [Table](#derivation-checker).\n")
        heads.append(line)
    gc_dir = os.path.join(runs_dir, "_gradcheck")
    gc_files = sorted(f for f in os.listdir(gc_dir) if f.endswith(".txt")) if os.path.isdir(gc_dir) else []
    gc_pass = [f for f in gc_files if tmap.get(f"gradcheck:{f[:-4]}", (None, "ok"))[1] in ("ok", "")
               and "gradient check passed" in open(os.path.join(gc_dir, f)).read()]
    if gc_files:
        md.append(f"**Gradient checks:** {len(gc_pass)}/{len(gc_files)} configs pass "
                  "(analytic gradient vs central differences). [Tables](#gradient-checks).\n")
        heads.append(f"gradient checks: {len(gc_pass)}/{len(gc_files)} configs pass")

    # --- Problem 1: the linear autoencoder
    lin = [r for r in runs if r.model == "linear_autoencoder"]
    ae_all = [r for r in runs if r.is_ae]
    if lin:
        md.append("## " + ("Problem 1: the" if any(r.homework for r in lin) else "The")
                  + " tied linear autoencoder against its exact optimum\n")
        md.append("L(W) = mean over samples of ½‖WᵀWx − x‖². Its global minimum is "
                  "L\\* = ½ Σ_{j>m} λ_j(C) / N from the eigenvalues of the second-moment matrix "
                  "(LAPACK), reached when the rows of W span the top-m eigenvectors "
                  "(Baldi & Hornik 1989). So a run is scored by L/L\\* → 1 and by the principal "
                  "angles between row-space(W) and those eigenvectors → 0.\n")
        rows = []
        for r in lin:
            s = r.summary
            rows.append([f"`{r.stem}`", r.optimizer, md_escape(r.data_desc),
                         r.config.get("model.latent_dim", "?"), fmt(s.get("final_loss"), ".8g"),
                         fmt(s.get("optimal_loss"), ".8g"), fmt(s.get("loss_ratio"), ".7f"),
                         fmt(s.get("max_principal_angle_deg"), ".3g") + "°",
                         fmt(s.get("mean_principal_angle_deg"), ".3g") + "°",
                         fmt(s.get("orthonormality_error"), ".2g"),
                         f"{fmt(s.get('variance_captured'), '.6f')} / {fmt(s.get('pca_variance_captured'), '.6f')}",
                         fmt(r.wall, ".1f")])
        md.append(md_table(["run", "optimiser", "data", "m", "final L", "L\\*", "L/L\\*",
                            "max angle", "mean angle", "‖WWᵀ − I‖", "variance captured (W / PCA)",
                            "wall s"], rows))
        md.append("")

        # SGD vs Adam on the same data (same L*)
        groups = {}
        for r in lin:
            key = round(num(r.get("optimal_loss")) or 0.0, 9)
            groups.setdefault(key, []).append(r)
        pair = None
        for g in groups.values():
            opts = {r.optimizer for r in g}
            if len(g) >= 2 and len(opts) >= 2:
                g = sorted(g, key=lambda r: (r.optimizer != "sgd", r.stem))
                pair = g
                break
        if pair:
            name = fig_optimizer_comparison(pair, report_dir, written)
            md.append("### SGD and Adam against L\\*\n")
            desc = "; ".join(f"`{r.stem}`: {r.optimizer}, {r.iterations_label}, "
                             f"L/L\\* − 1 = {fmt((num(r.get('loss_ratio')) or math.nan) - 1, '.2e')}, "
                             f"{fmt(r.get('seconds'), '.1f')} s of training" for r in pair)
            md.append(f"![loss curves of SGD and Adam against L*]({name})\n")
            md.append(f"Same data and the same L\\* = {fmt(pair[0].get('optimal_loss'), '.8g')}. {desc}. "
                      "Left: the loss with L\\* as a dashed line; middle and right: the excess "
                      "L/L\\* − 1 on a log scale, per epoch and per second of training.\n")
        else:
            md.append("*(No pair of linear-autoencoder runs with different optimisers on the same "
                      "data: the SGD-vs-Adam figure is not drawn.)*\n")

        # W rows next to the eigenvectors, for the Adam run
        adam = next((r for r in (pair or []) if r.optimizer == "adam"), None) or \
            next((r for r in lin if r.optimizer == "adam"), lin[0])
        W = plot_run.read_matrix(os.path.join(adam.path, "W.npy"), "W")
        U = plot_run.read_matrix(os.path.join(adam.path, "pca_components.npy"), "PCA components")
        if W is not None and U is not None and W.shape[1] == U.shape[1]:
            name = f"{adam.stem}_components.png"
            plot_run.plot_components(adam.stem, W, U, adam.summary, os.path.join(report_dir, name))
            written.append(name)
            md.append(f"### W's rows next to the PCA eigenvectors (`{adam.stem}`, {adam.optimizer})\n")
            md.append(f"![rows of W, W projected onto each eigenvector, eigenvectors]({name})\n")
            side = plot_run._square_side(W.shape[1])
            md.append("Top row: the first rows of W, "
                      + (f"as {side}×{side} images (n = {W.shape[1]}). " if side else
                         f"each as a line over its n = {W.shape[1]} input dimensions. ")
                      + "The loss is invariant to "
                      "W → QW for any orthogonal Q, so W's rows are some rotation of the "
                      "eigenvectors, not the eigenvectors themselves. Middle row: each eigenvector "
                      "u_j projected onto row-space(W) — the element of W's subspace closest to "
                      "u_j; its length (in the title) is the cosine of the angle between u_j and "
                      "the subspace. Bottom row: the eigenvectors u_j of the second-moment matrix. "
                      + ("Middle and bottom rows agree: W has found the PCA subspace "
                         f"(largest principal angle {fmt(adam.get('max_principal_angle_deg'), '.3g')}°).\n"
                         if (num(adam.get("max_principal_angle_deg")) or 90) < 5 else
                         "Where the middle row differs from the bottom one, W has not (yet) found "
                         "that eigenvector (largest principal angle "
                         f"{fmt(adam.get('max_principal_angle_deg'), '.3g')}°).\n"))

        for r in lin:
            if pair and r in pair:
                continue
            name = f"{r.stem}_loss.png"
            plot_run.plot_loss(r.stem, r.metrics, r.summary, os.path.join(report_dir, name))
            written.append(name)
            md.append(f"### `{r.stem}` ({r.optimizer}, {md_escape(r.data_desc)})\n")
            md.append(f"![loss curve of {r.stem}]({name})\n")
            gap = eigengap(r)
            if gap is not None:
                m = int(gap[0])
                md.append(f"L/L\\* = {fmt(r.get('loss_ratio'), '.7f')}; largest principal angle "
                          f"{fmt(r.get('max_principal_angle_deg'), '.3g')}°. Here λ_{m} and "
                          f"λ_{m + 1} differ by {gap[1] * 100:.2g}%: the {ordinal(m)} direction is "
                          + ("barely determined by the loss, so its angle converges far more "
                             "slowly than the loss (see the angles below).\n" if gap[1] < 0.02
                             else "well separated from the next one.\n"))

    # --- principal angles
    if ae_all:
        md.append("## Principal angles\n")
        name = fig_angles(ae_all, report_dir, written)
        md.append(f"![sorted principal angles of each autoencoder run]({name})\n")
        rows = []
        for r in ae_all:
            a = r.get("principal_angles_deg")
            a = np.array(a, dtype=float) if isinstance(a, list) and a else None
            rows.append([f"`{r.stem}`", r.model + (" (reported only)" if r.model != "linear_autoencoder" else ""),
                         r.optimizer, str(len(a)) if a is not None else "—",
                         fmt(r.get("max_principal_angle_deg"), ".3g") + "°",
                         fmt(r.get("mean_principal_angle_deg"), ".3g") + "°",
                         (fmt(float(np.median(a)), ".3g") + "°") if a is not None else "—",
                         (fmt(float(np.sort(a)[-2]), ".3g") + "°") if a is not None and len(a) > 1 else "—",
                         (f"{eigengap(r)[1] * 100:.2g}%" if eigengap(r) else "—")])
        md.append(md_table(["run", "model", "optimiser", "angles", "max", "mean", "median",
                            "second largest", "λ_m / λ_{m+1} − 1"], rows))
        md.append("\nThe loss depends on the last direction only through the eigenvalue gap "
                  "λ_m − λ_{m+1}: the smaller the gap (last column), the more slowly the largest "
                  "angle converges, while all the others are a fraction of a degree."
                  + (" The nonlinear autoencoder is not expected to find the PCA subspace "
                     "(reported only)." if any(r.model != "linear_autoencoder" for r in ae_all)
                     else "") + "\n")

    # --- nonlinear autoencoder
    nonlin = [r for r in runs if r.model == "nonlinear_autoencoder"]
    if nonlin:
        md.append("## " + ("Problem 1, nonlinear variant" if any(r.homework for r in nonlin)
                           else "The nonlinear tied autoencoder")
                  + ": ½‖f(Wᵀ f(W x)) − x‖²\n")
        why = ("the sigmoid output lies in (0, 1), the pixels in [0, 1]"
               if all(activation(r) == "sigmoid" and r.source in ("mnist", "fashion-mnist")
                      for r in nonlin) else "a different model")
        md.append("Reported next to the linear optimum for orientation only: L\\* is the optimum "
                  "of the *linear* model on the same training rows, not a bound for this one "
                  f"({why}).\n")
        rows = []
        for r in nonlin:
            s = r.summary
            rows.append([f"`{r.stem}`", activation(r), r.optimizer,
                         md_escape(r.data_desc), fmt(s.get("final_loss"), ".6g"),
                         fmt(s.get("final_test_loss"), ".6g"), fmt(s.get("optimal_loss"), ".6g"),
                         fmt(s.get("loss_ratio"), ".4g"),
                         fmt(s.get("max_principal_angle_deg"), ".3g") + "° / "
                         + fmt(s.get("mean_principal_angle_deg"), ".3g") + "°",
                         f"{fmt(s.get('variance_captured'), '.3f')} / {fmt(s.get('pca_variance_captured'), '.3f')}",
                         fmt(r.wall, ".1f")])
        md.append(md_table(["run", "f", "optimiser", "data", "train L", "test L",
                            "linear L\\*", "L / linear L\\*", "angles max / mean",
                            "variance captured (W / PCA)", "wall s"], rows))
        md.append("")
        for r in nonlin:
            name = f"{r.stem}_loss.png"
            plot_run.plot_loss(r.stem, r.metrics, r.summary, os.path.join(report_dir, name))
            written.append(name)
            md.append(f"![loss curve of {r.stem} with the linear optimum]({name})\n")

    # --- GPLVM
    gp = [r for r in runs if r.model == "gplvm"]
    if gp:
        md.append("## " + ("Problem 2: the" if any(r.homework for r in gp) else "The") + " GPLVM\n")
        nouns = {r.label_noun for r in gp}
        label_noun = nouns.pop() if len(nouns) == 1 else "label"
        rows = []
        for r in gp:
            s = r.summary
            rows.append([f"`{r.stem}`", str(s.get("kernel", "?")), str(s.get("method", "?")),
                         md_escape(r.data_desc), r.config.get("model.latent_dim", "?"),
                         fmt(s.get("log_likelihood"), ",.4f"),
                         fmt(s.get("analytic_log_likelihood"), ",.4f"),
                         fmt(s.get("likelihood_gap"), ".2e"),
                         fmt(s.get("likelihood_gap_relative"), ".2e"),
                         fmt(s.get("knn_error") if r.class_labels else None, ".4f"),
                         fmt(s.get("pca_knn_error") if r.class_labels else None, ".4f"),
                         f"{s.get('iterations', s.get('epochs', '?'))}"
                         + (f" ({md_escape(s.get('stop_reason'))})" if s.get("stop_reason") else
                            " (iteration limit)" if str(s.get("status")) == "finished" else ""),
                         fmt(r.wall, ".1f")])
        md.append(md_table(["run", "kernel", "method", "data", "q", "log-likelihood",
                            "analytic maximum", "gap", "relative gap", "1-NN error (GPLVM)",
                            "1-NN error (PCA)", "L-BFGS iterations", "wall s"], rows))
        md.append("\n1-NN error: leave-one-out nearest-neighbour classification of the "
                  + ("" if label_noun == "label" else label_noun + " ")
                  + "labels in the latent space (lower: the classes are better separated"
                  + ("; — where labels.npy holds non-integer values, which are not classes"
                     if not all(r.class_labels for r in gp) else "")
                  + "). PCA: the top-q principal-component scores of the same points.\n")
        for r in gp:
            if str(r.get("kernel", "")).startswith("rbf"):
                q = r.npy("X.npy")
                q = q.shape[1] if q is not None and q.ndim == 2 else 0
                hp = ", ".join(f"{k} {fmt(r.get(k), '.4g')}" for k in
                               ["signal_variance", "lengthscale"]
                               + [f"lengthscale_{l}" for l in range(q)] + ["noise_variance"]
                               if num(r.get(k)) is not None)
                if hp:
                    md.append(f"`{r.stem}` {'learned' if r.config.get('model.learn_hyperparameters', '').lower() == 'true' else 'fixed'} "
                              f"hyperparameters: {hp}.\n")

        # latent panels: PCA (of the RBF run's points if any), then each GPLVM run;
        # with q > 2 the two most relevant dimensions (plot_run.latent_axes)
        def two_d(Z):
            return Z is not None and Z.ndim == 2 and Z.shape[1] >= 2

        panels = []
        pca_src = next((r for r in gp if str(r.get("kernel", "")).startswith("rbf")), gp[0])
        Zp = pca_src.npy("pca_latent.npy")
        if Zp is not None:
            panels.append((f"PCA, {len(Zp):,} {pca_src.rows_noun} (those of {pca_src.stem})",
                           Zp, pca_src.labels(),
                           plot_run.latent_axes(Zp, name="PCA score", ard=False) if two_d(Zp) else None,
                           num(pca_src.get("pca_knn_error"))))
        for r in sorted(gp, key=lambda r: (r.get("kernel") != "linear", r.stem)):
            X = r.npy("X.npy")
            panels.append((f"{r.get('kernel', '?')} GPLVM ({r.stem}), "
                           f"{len(X) if X is not None else 0:,} {r.rows_noun}",
                           X, r.labels(),
                           plot_run.latent_axes(X, r.summary, r.metrics) if two_d(X) else None,
                           num(r.get("knn_error"))))
        name = fig_latents(panels, report_dir, written, label_noun)
        kernels = ", ".join(dict.fromkeys(f"{r.get('kernel', '?')} GPLVM" for r in gp))
        md.append(f"![latent spaces: PCA, {kernels}, coloured by {label_noun}]({name})\n")
        if any(two_d(Z) and Z.shape[1] > 2 for _, Z, *_ in panels):
            md.append("With q > 2 each panel shows two dimensions, named on its axes: for an ARD "
                      "kernel the two with the smallest lengthscales (the most relevant), "
                      "otherwise the two of largest variance.\n")
        for r in gp:
            e, ep = num(r.get("knn_error")), num(r.get("pca_knn_error"))
            if e is None or ep is None or not r.class_labels:
                continue
            if r.get("kernel") == "linear":
                md.append(f"`{r.stem}`: with α, β fixed the maximum is probabilistic PCA "
                          "(Lawrence 2005), so the latents are the PCA scores up to a per-axis "
                          "scale and a rotation; 1-NN error "
                          f"{e:.4f} against PCA's {ep:.4f} on the same {int(num(r.get('n_train')) or 0):,} {r.rows_noun}.\n")
            else:
                md.append(f"`{r.stem}` ({r.get('kernel')} kernel, hyperparameters "
                          f"{'learned' if r.config.get('model.learn_hyperparameters', '').lower() == 'true' else 'fixed'}): "
                          f"1-NN error {e:.4f} against PCA's {ep:.4f} on the same "
                          f"{int(num(r.get('n_train')) or 0):,} {r.rows_noun}"
                          + (f" ({ep / e:.1f}× fewer errors).\n" if 0 < e < ep else ".\n"))
        for r in gp:
            if r.get("kernel") == "linear" and num(r.get("analytic_log_likelihood")) is not None:
                name = f"{r.stem}_likelihood.png"
                plot_run.plot_likelihood(r.stem, r.metrics, r.summary, os.path.join(report_dir, name))
                written.append(name)
                md.append(f"### `{r.stem}`: log-likelihood against the analytic maximum\n")
                md.append(f"![log-likelihood of {r.stem} per L-BFGS iteration]({name})\n")
                md.append(f"L-BFGS from a random start (scale {r.config.get('model.init_scale', '?')}) "
                          f"reaches {fmt(r.get('log_likelihood'), ',.6f')} against the analytic "
                          f"maximum {fmt(r.get('analytic_log_likelihood'), ',.6f')}: a gap of "
                          f"{fmt(r.get('likelihood_gap'), '.2e')} "
                          f"({fmt(r.get('likelihood_gap_relative'), '.1e')} relative).\n")
            elif str(r.get("kernel", "")).startswith("rbf"):
                name = f"{r.stem}_likelihood.png"
                fig_rbf_hyper(r, report_dir, written, name)
                md.append(f"### `{r.stem}`: log-likelihood and hyperparameters\n")
                md.append(f"![log-likelihood and hyperparameters of {r.stem}]({name})\n")
                ll = r.metrics.get("log_likelihood")
                if ll is None:
                    ll = -r.metrics["train_loss"]
                ll = ll[np.isfinite(ll)]
                k = max(1, len(ll) // 10)
                tail = (f" Over the last {k} iterations the log-likelihood rose by "
                        f"{ll[-1] - ll[-1 - k]:.3g} ({(ll[-1] - ll[-1 - k]) / abs(ll[-1]):.1e} relative)"
                        if len(ll) > k else "")
                if str(r.get("status")) != "converged":
                    md.append(f"The run ended at the iteration limit ({r.get('iterations', '?')}) "
                              "rather than at a convergence test (there is no analytic maximum "
                              f"for this kernel).{tail}"
                              + (f"; final gradient norm {fmt(r.metrics['grad_norm'][-1], '.3g')}"
                                 if "grad_norm" in r.metrics else "") + ".\n")
                elif tail:
                    md.append(f"Converged: {r.get('stop_reason', '')}.{tail}.\n")

    # --- Bayesian GPLVM (in the GPLVM section when there is one)
    bg = [r for r in runs if r.model == "bayesian_gplvm"]
    if bg:
        md.append(("### The Bayesian GPLVM\n" if gp else "## The Bayesian GPLVM\n"))
        md.append("The variational Bayesian GPLVM (Titsias & Lawrence 2010): a Gaussian "
                  "q(X) per point (means and variances) and M inducing inputs, trained by "
                  "maximising the ELBO, a lower bound on log p(Y); an ARD kernel switches "
                  "irrelevant latent dimensions off.\n")
        nouns = {r.label_noun for r in bg}
        bg_label_noun = nouns.pop() if len(nouns) == 1 else "label"
        rows = []
        for r in bg:
            s = r.summary
            q = bgplvm_q(r)
            active = s.get("active_dims")
            active_txt = (f"{len(active)} of {q if q else '?'}: "
                          + ", ".join(str(k + 1) for k in active)
                          if isinstance(active, list) and all(isinstance(k, int) for k in active)
                          else "—")
            rows.append([f"`{r.stem}`", str(s.get("kernel", "?")), md_escape(r.data_desc),
                         str(q or r.config.get("model.latent_dim", "?")),
                         str(s.get("inducing", "?")),
                         fmt(s.get("elbo"), ",.2f"), fmt(s.get("elbo_per_point"), ".4g"),
                         fmt(s.get("kl"), ",.1f"), active_txt,
                         fmt(s.get("knn_error") if r.class_labels else None, ".4f"),
                         fmt(s.get("pca_knn_error") if r.class_labels else None, ".4f"),
                         f"{s.get('iterations', s.get('epochs', '?'))}"
                         + (f" ({md_escape(s.get('stop_reason'))})" if s.get("stop_reason") else ""),
                         fmt(r.wall, ".1f")])
        md.append(md_table(["run", "kernel", "data", "q", "inducing", "ELBO", "ELBO per point",
                            "KL", "active dims (1-based)", "1-NN error (Bayesian GPLVM)",
                            "1-NN error (PCA)", "iterations", "wall s"], rows))
        md.append("\nELBO = data term − KL(q(X) ‖ p(X)). Active dims: those the run counts as "
                  "relevant (ARD relevance 1/ℓ², or α for a linear kernel). 1-NN error: "
                  "leave-one-out nearest-neighbour classification of the "
                  + ("" if bg_label_noun == "label" else bg_label_noun + " ")
                  + "labels by the latent means; PCA: the top-q principal-component scores of "
                  "the same points.\n")
        for r in bg:
            X = r.npy("X_mean.npy")
            if X is None or X.ndim != 2:
                md.append(f"`{r.stem}`: no X_mean.npy; no latent plot.\n")
                continue
            name = f"{r.stem}_latent.png"
            plot_run.plot_bgplvm_run_latent(r.stem, r.path, np.asarray(X, dtype=float),
                                            r.summary, os.path.join(report_dir, name), r.metrics)
            written.append(name)
            md.append(f"![Bayesian GPLVM latent means of {r.stem} on its predictive variance, "
                      f"and PCA, coloured by {r.label_noun}]({name})\n")
        low, high = plot_run.variance_shading()
        md.append("Left: the latent means in the two most relevant dimensions over the model's "
                  f"predictive variance of f there (the other dimensions at 0; {low}: low "
                  f"variance, where the model is confident; {high}: high), crosses the inducing "
                  "inputs; right: PCA.\n")

    # --- MLP
    mlps = [r for r in runs if r.model == "mlp"]
    if mlps:
        acts = list(dict.fromkeys(mlp_activation(r) for r in mlps))
        title = f"the two-layer {acts[0]} network" if len(acts) == 1 else "the two-layer network"
        md.append("## " + (f"Problem 3: {title}" if any(r.homework for r in mlps)
                           else title[0].upper() + title[1:]) + "\n")
        f = activation(mlps[0]) if len({activation(r) for r in mlps}) == 1 else "f"
        data = "; ".join(dict.fromkeys(md_escape(r.data_desc) for r in mlps))
        md.append(f"z₁ = W₁x + b₁, h₁ = {f}(z₁), z₂ = W₂h₁ + b₂, softmax cross-entropy, "
                  f"trained on {data} with a seeded held-out split.\n")
        rows = []
        for r in mlps:
            s = r.summary
            acc = num(s.get("test_accuracy"))
            tr = num(s.get("train_accuracy"))
            rows.append([f"`{r.stem}`", activation(r),
                         r.config.get("model.hidden", "?"), r.optimizer, md_escape(r.data_desc),
                         r.iterations_label, f"{tr * 100:.2f}%" if tr is not None else "—",
                         f"**{acc * 100:.2f}%**" if acc is not None else "—",
                         fmt(s.get("final_test_loss"), ".4g"), fmt(r.wall, ".1f")])
        md.append(md_table(["run", "activation", "hidden", "optimiser", "data", "length",
                            "train accuracy", "test accuracy", "test loss", "wall s"], rows))
        md.append("")
        for r in mlps:
            acc = num(r.get("test_accuracy"))
            if acc is not None:
                ta = r.metrics.get("test_accuracy")
                first = None
                if ta is not None:
                    hit = np.nonzero(np.isfinite(ta) & (ta >= 0.95))[0]
                    first = int(x_epoch(r)[hit[0]]) if len(hit) else None
                best = num(np.nanmax(ta)) if ta is not None and np.isfinite(ta).any() else None
                md.append(f"`{r.stem}`: final held-out accuracy {acc * 100:.2f}%"
                          + ((", " + ("above" if acc >= 0.95 else "**below**") + " the issue's 95%"
                              + (f" (first reached at epoch {first})" if first is not None else ""))
                             if r.homework else
                             (f" (best {best * 100:.2f}% over the epochs)" if best is not None else ""))
                          + f", in {fmt(r.wall, '.1f')} s.\n")
        for r in mlps:
            name = fig_mlp(r, report_dir, written, f"{r.stem}_accuracy.png")
            md.append(f"![accuracy per epoch of {r.stem}]({name})\n")

    # --- other models (configs added later)
    other = [r for r in runs if not r.is_ae and r.model not in ("gplvm", "bayesian_gplvm", "mlp")]
    for r in other:
        md.append(f"## `{r.stem}` ({r.model})\n")
        name = f"{r.stem}_loss.png"
        plot_run.plot_loss(r.stem, r.metrics, r.summary, os.path.join(report_dir, name))
        written.append(name)
        md.append(f"![loss curve of {r.stem}]({name})\n")

    # --- derivation checker
    md.append("## Derivation checker\n")
    if deriv_text:
        md.append("Every formula of the homework — final and intermediate — written as code in "
                  "the homework's own form and compared with central finite differences; the "
                  "wrong variants must differ from them, the equivalent forms must agree to "
                  "rounding. Output of `build/derivations`, pasted:\n")
        md.append(deriv_text.strip() + "\n")
    else:
        md.append("*(`_derivations.md` not found in the runs directory: run `scripts/reproduce`.)*\n")

    # --- gradient checks
    md.append("## Gradient checks\n")
    if gc_files:
        md.append("`build/train --config <config> --gradcheck --set data.limit=200`: the model's "
                  "analytic gradient against central differences on a small batch of the "
                  "config's data, per parameter block.\n")
        summary_rows, details = [], []
        for f in gc_files:
            stem = f[:-4]
            text = open(os.path.join(gc_dir, f)).read()
            parsed = parse_gradcheck(text)
            ok = f in gc_pass
            if parsed:
                first, header, rows, tail = parsed
                rel_i = next((i for i, h in enumerate(header) if "rel" in h), None)
                worst = max((float(r[rel_i]) for r in rows if rel_i is not None
                             and re.match(r"^[0-9.eE+-]+$", r[rel_i])), default=None)
                tol = re.search(r"tolerance[^0-9]*([0-9.eE+-]+)", first)
                model = re.search(r"gradient check:\s*([^,]+)", first)
                summary_rows.append([f"`{stem}`", model.group(1) if model else "?",
                                     ", ".join(r[0] for r in rows), fmt(worst, ".2e"),
                                     tol.group(1) if tol else "?", "pass" if ok else "**FAIL**"])
                details.append(f"### `{stem}`\n\n{md_escape(first)}\n\n" + md_table(header, rows)
                               + "\n\n" + "\n".join(md_escape(t) + "  " for t in tail) + "\n")
            else:
                summary_rows.append([f"`{stem}`", "?", "?", "?", "?", "pass" if ok else "**FAIL**"])
                details.append(f"### `{stem}`\n\n```\n{text.strip()}\n```\n")
        md.append(md_table(["config", "model", "parameter blocks", "max rel. error",
                            "tolerance", "result"], summary_rows))
        md.append("")
        md.extend(details)
    else:
        md.append("*(`_gradcheck/` not found in the runs directory: run `scripts/reproduce`.)*\n")

    # --- environment and timings
    md.append("## Environment\n")
    md.append(md_table(["", ""], [[k, md_escape(v)] for k, v in environment(repo, build_dir, runs)]))
    md.append("")
    md.append("### Wall time\n")
    if timings:
        md.append(md_table(["step", "wall seconds", "status"],
                           [[f"`{s}`" if s != "total" else "**total**",
                             fmt(sec, ".1f") if s != "total" else f"**{fmt(sec, '.1f')}**",
                             st] for s, sec, st in timings]))
        md.append("\nMeasured by `scripts/reproduce` (`date +%s.%N` around each step); the total "
                  "runs from its start to just before this report was written. The machine may be "
                  "shared, so the times are noisy. One training at a time; BLAS uses the threads "
                  "listed above.\n")
    else:
        md.append(md_table(["run", "wall seconds (summary.json)"],
                           [[f"`{r.stem}`", fmt(r.wall, ".1f")] for r in runs]))
        md.append("")

    index = os.path.join(report_dir, "index.md")
    tmp = index + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(md).rstrip() + "\n")
    os.replace(tmp, index)
    return index, written, heads


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(prog=PROG, description="Write the report of a directory of "
                                 "LatentLab runs (scripts/reproduce: the homework's).")
    ap.add_argument("runs_dir", metavar="RUNS_DIR")
    ap.add_argument("report_dir", metavar="REPORT_DIR")
    ap.add_argument("--repo", default=os.path.dirname(here), help="the source tree (default: this script's ..)")
    ap.add_argument("--build-dir", default=None,
                    help="the build directory, for the compiler and BLAS (default: $BUILD_DIR, else REPO/build)")
    args = ap.parse_args(argv)
    build_dir = args.build_dir or os.environ.get("BUILD_DIR") or "build"
    if not os.path.isabs(build_dir):
        build_dir = os.path.join(args.repo, build_dir)
    if not os.path.isdir(args.runs_dir):
        print(f"{PROG}: {args.runs_dir} is not a directory", file=sys.stderr)
        return 1
    existed = os.path.exists(args.report_dir)
    try:
        index, written, heads = make_report(args.runs_dir, args.report_dir, build_dir, args.repo)
    except (ReportError, plot_run.PlotError, OSError, ValueError, KeyError) as e:
        if not existed and os.path.isdir(args.report_dir) and not os.listdir(args.report_dir):
            os.rmdir(args.report_dir)  # made by this call and still empty: not left behind
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    print(f"report: {index} ({len(written)} figures)")
    for h in heads:
        print("  " + h)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
