"""LatentLab from Python: numpy in, numpy out, scikit-learn's conventions.

    import numpy as np, latentlab as ll
    ae = ll.LinearAutoencoder(latent_dim=32, optimizer="adam", lr=0.01, epochs=60, seed=0).fit(X)
    Z = ae.transform(X_new); Xr = ae.inverse_transform(Z); ae.components_; ae.pca_report()
    gp = ll.GPLVM(latent_dim=2, kernel="rbf").fit(Y); gp.latent_; gp.transform(Y_new)
    clf = ll.SwishMLP(hidden=128, epochs=20).fit(X, y); clf.predict(X_test); clf.score(X_test, y_test)
    ll.fit_config("configs/ae.yaml", overrides={"train.epochs": 5})   # as `train --config ... --set ...`
    ll.load_run("runs/ae")                                              # a run directory of the CLI

Every estimator is a config of the CLI (the same keys, `train --list-keys`):
its parameters set the usual keys and `options` any other ({"optim.momentum":
0.9}). A fit runs the CLI's loop in C++ (python/bindings.cpp) with the GIL
released; Ctrl-C stops it at the next step (KeyboardInterrupt). `callback`
is called with each epoch's record (a dict: epoch, train_loss, grad_norm, lr,
the model's metrics); returning True stops the fit. `verbose=True` prints the
CLI's progress lines. The same seed gives the same bits as the CLI on the
same rows (`fit(X)` draws the CLI's seeded shuffle of X's rows).
"""
import inspect
import json
import os

import numpy as np

from . import _latentlab as _core
from ._latentlab import ConfigError, DataError, NumericalError, Error  # noqa: F401

try:  # scikit-learn is optional; with it the estimators are also BaseEstimators
    from sklearn.base import BaseEstimator as _SklearnBase
except ImportError:  # pragma: no cover
    _SklearnBase = object

__all__ = ["LinearAutoencoder", "GPLVM", "SwishMLP", "fit_config", "load_run", "load_data", "config_keys",
           "ConfigError", "DataError", "NumericalError", "Error"]


def load_data(overrides=None, config=None, prepared=True):
    """The rows a config's data.* keys describe, prepared as a run prepares
    them (a seeded shuffle, data.limit, data.scale — 1/255 for the digit
    sets —, data.center), in model.dtype: (X, y), y None without labels.
    X holds the training rows and then the held-out ones (data.test_fraction).
    With prepared=False the rows stay in the data file's units (the same
    rows, neither scaled nor centred): what an estimator from fit_config or
    load_run takes, since it scales and centres new rows as `train apply`
    does.

        X, y = ll.load_data({"data.source": "fashion-mnist", "data.limit": 6000})
    """
    extra = [] if prepared else ["data.scale=1", "data.center=false"]
    X, y, _ = _core.load_data(os.fspath(config) if config else "", _override_list(overrides) + extra)
    return X, y


def config_keys():
    """Every config key, in the order of `train --list-keys`."""
    return list(_core.config_keys())


# --- arrays in ---------------------------------------------------------------

_FIT_DTYPES = (np.float32, np.float64, np.uint8, np.int8, np.int16, np.int32, np.int64)


def _matrix(X, name, for_fit=False):
    """X as a C-contiguous 2-d array the C++ side reads in place: float32/float64
    as given (no copy when C-contiguous); for a fit also the integer types the
    CLI reads from files (uint8 is scaled by 1/255, as an IDX or .npy file);
    other numbers converted to float64. Anything else is a TypeError or
    ValueError naming `name`."""
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except Exception as e:  # ragged lists and the like
            raise ValueError(f"{name}: cannot be read as a 2-d numeric array ({e})") from None
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected a numeric array (float32 or float64), got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d array (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name}: expected at least one sample and one feature, got shape {X.shape}")
    keep = (np.float32, np.float64) + (_FIT_DTYPES[2:] if for_fit else ())
    if X.dtype.type not in keep:
        X = X.astype(np.float32 if X.dtype == np.float16 else np.float64)
    canonical = np.dtype(X.dtype.type)  # native byte order, no metadata (a pickled array's dtype is equal, not the same)
    if not X.dtype.isnative:
        X = X.astype(canonical)
    elif X.dtype is not canonical:
        X = X.view(canonical)
    if X.dtype.kind == "f":
        bad = ~np.isfinite(X)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            what = "NaN" if np.isnan(X[i, j]) else "Inf"
            raise ValueError(f"{name}: {what} at row {i}, column {j} (and {int(bad.sum()) - 1} more)"
                             if bad.sum() > 1 else f"{name}: {what} at row {i}, column {j}")
        biggest = float(np.abs(X).max())
        if biggest > 1e150:  # as the CLI: every loss would be Inf or NaN
            raise ValueError(f"{name}: values up to {biggest:.3g} overflow double precision in the loss "
                             "(their squares); rescale them")
    if not X.flags.c_contiguous:
        X = np.ascontiguousarray(X)  # one copy; the C++ side reads rows in place
    return X


def _labels(y, n, name="y"):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array of labels, got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"{name}: {y.shape[0]} labels for {n} samples")
    if y.dtype.kind in "fc" and not np.all(np.isfinite(y)):
        raise ValueError(f"{name}: label {y[~np.isfinite(y)][0]} at row {int(np.argmax(~np.isfinite(y)))} "
                         "is not a class")
    return y


def _check_fitted(est, attr):
    if not hasattr(est, attr):
        raise AttributeError(f"{type(est).__name__} is not fitted yet: call fit first") from None


# --- configs -----------------------------------------------------------------

def _yaml_value(v):
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return json.dumps(str(v))  # a double-quoted YAML string


def _override_list(overrides):
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return [f"{k}={_yaml_value(v)}" for k, v in overrides.items()]
    if isinstance(overrides, (str, bytes)) or not hasattr(overrides, "__iter__"):
        raise TypeError(f"overrides: expected a dict {{'key.path': value}} or a list of 'key=value', got "
                        f"{type(overrides).__name__}")
    return [str(o) for o in overrides]  # already "key=value"


def _scalar(text):
    if text.startswith('"'):
        return json.loads(text)
    if text in ("true", "false"):
        return text == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _flat_config(yaml_text):
    """The resolved config (to_yaml: top-level keys and one level of sections)
    as a flat dict {"model.latent_dim": 32, ...}."""
    out, section = {}, None
    for line in yaml_text.splitlines():
        if not line.strip():
            continue
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if line.startswith("  "):
            out[f"{section}.{key}"] = _scalar(value)
        elif value == "":
            section = key
        else:
            out[key] = _scalar(value)
    return out


# --- the estimators ----------------------------------------------------------

class _Estimator(_SklearnBase):
    """Parameters as plain attributes (scikit-learn's convention): get_params
    reads the names of __init__, set_params writes them; nothing is checked or
    converted before fit, so clone() and Pipeline work."""

    _model_type = None

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params):
        valid = self._param_names()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"Invalid parameter {k!r} for estimator {type(self).__name__}; "
                                 f"valid parameters: {', '.join(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    _KEYS = {}    # parameter -> config key
    _FIXED = {}   # config keys the estimator fixes (e.g. the GPLVM's optimiser)

    # The config keys this estimator's parameters set; `options` comes last.
    def _config(self):
        keys = {key: getattr(self, name) for name, key in self._KEYS.items()}
        keys.update(self._FIXED)
        return keys

    def _overrides(self):
        keys = {"model.type": self._model_type}
        keys.update(self._config())
        if self.options is not None and not isinstance(self.options, dict):
            raise TypeError(f"options: expected a dict {{'key.path': value}} (train --list-keys), got "
                            f"{type(self.options).__name__}")
        keys.update(self.options or {})
        if self.callback is not None and not callable(self.callback):
            raise TypeError(f"callback: expected a function of the epoch's record, got {type(self.callback).__name__}")
        if keys.get("model.type") != self._model_type:
            raise ValueError(f"options: model.type {keys['model.type']!r} is not {type(self).__name__}'s "
                             f"({self._model_type!r}); use ll.fit_config for another model")
        return _override_list(keys)

    def _fit(self, X, y=None):
        X = _matrix(X, "X", for_fit=True)
        if y is not None:
            y = _labels(y, X.shape[0])
        result = _core.fit("", self._overrides(), X, y, self.callback, bool(self.verbose))
        self._set_fitted(result, X)
        return self

    def _set_fitted(self, result, X=None):
        self._config_yaml = result["config"]
        self.config_ = _flat_config(result["config"])
        self.params_ = dict(result["params"])
        self.history_ = list(result.get("history", []))
        summary = result.get("summary")
        self.summary_ = json.loads(summary) if isinstance(summary, str) else dict(summary or {})
        self.rows_ = result.get("rows")
        self.mean_ = result.get("mean")
        self.scale_ = float(result.get("scale", 1.0))
        first = next(iter(self.params_.values()))
        self.n_features_in_ = int(X.shape[1]) if X is not None else int(self.summary_.get("dim", first.shape[-1]))

    def _apply(self, X, train_X=None):
        _check_fitted(self, "params_")
        X = _matrix(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X: {X.shape[1]} features, but {type(self).__name__} was fitted with "
                             f"{self.n_features_in_}")
        if self.scale_ != 1.0 and X.dtype.kind == "f" and 0 < float(np.abs(X).max()) <= 1.0 < 0.5 / self.scale_:
            import warnings
            warnings.warn(f"X: values at most 1, but this model scales new rows by {self.scale_:.4g} (as "
                          "`train apply` does: rows in the data file's units); rows already scaled, e.g. from "
                          "ll.load_data(...), are scaled twice: use ll.load_data(..., prepared=False)",
                          stacklevel=3)
        out = _core.apply(self._config_yaml, self.params_, X, self.scale_, self.mean_, train_X)
        for key, value in out.items():
            if (isinstance(value, np.ndarray) and value.ndim >= 1 and value.dtype.kind == "f"
                    and not np.all(np.isfinite(value))):
                row = int(np.argmax(~np.isfinite(value).reshape(len(value), -1).all(axis=1)))
                raise NumericalError(f"X: row {row} gives a non-finite {key} (the rows or the parameters "
                                     "overflow; rescale the rows)")
        return out


class LinearAutoencoder(_Estimator):
    """The tied linear autoencoder ½‖WᵀWx − x‖² (models/linear_autoencoder.hpp).

    components_ is W (latent_dim × n_features), whose rows span the top
    principal subspace at the optimum; pca_report() compares it with PCA:
    the loss against the exact optimum L* and the principal angles."""

    _model_type = "linear_autoencoder"

    def __init__(self, latent_dim=32, optimizer="adam", lr=0.001, epochs=10, batch_size=256,
                 schedule="constant", center=False, dtype="float32", init_scale=0.01, seed=0, threads=0,
                 verbose=False, callback=None, options=None):
        self.latent_dim = latent_dim
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.schedule = schedule
        self.center = center
        self.dtype = dtype
        self.init_scale = init_scale
        self.seed = seed
        self.threads = threads
        self.verbose = verbose
        self.callback = callback
        self.options = options

    _KEYS = {"latent_dim": "model.latent_dim", "optimizer": "optim.type", "lr": "optim.lr", "epochs": "train.epochs",
             "batch_size": "train.batch_size", "schedule": "optim.schedule", "center": "data.center",
             "dtype": "model.dtype", "init_scale": "model.init_scale", "seed": "seed", "threads": "train.threads"}

    def fit(self, X, y=None):
        """Trains on the rows of X (y is ignored). Returns self."""
        return self._fit(X)

    @property
    def components_(self):
        _check_fitted(self, "params_")
        return self.params_["W"]

    def transform(self, X):
        """The codes W x of each row (after the fit's scaling and centring)."""
        return self._apply(X)["codes"]

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """Rows back in X's units: Wᵀ z, plus the mean removed, over the scale applied."""
        _check_fitted(self, "params_")
        Z = np.asarray(Z)
        if Z.ndim != 2 or Z.shape[1] != self.components_.shape[0]:
            raise ValueError(f"Z: expected shape (n_samples, {self.components_.shape[0]}), got {Z.shape}")
        Xr = Z @ self.components_
        if self.mean_ is not None:
            Xr = Xr + self.mean_
        return Xr / self.scale_ if self.scale_ != 1.0 else Xr

    def score(self, X, y=None):
        """Minus the mean reconstruction loss ½‖WᵀWx − x‖² (higher is better)."""
        return -float(np.mean(self._apply(X)["reconstruction_loss"]))

    def pca_report(self):
        """The fit against PCA on the training rows: loss_ratio L/L*, the final
        and optimal losses, the principal angles (degrees) between the rows of
        W and the top principal directions, orthonormality ‖WWᵀ − I‖, the
        variance captured by W and by PCA."""
        _check_fitted(self, "summary_")
        keys = ["final_loss", "optimal_loss", "loss_ratio", "principal_angles_deg", "max_principal_angle_deg",
                "mean_principal_angle_deg", "orthonormality_error", "variance_captured", "pca_variance_captured"]
        return {k: self.summary_[k] for k in keys if k in self.summary_}


class GPLVM(_Estimator):
    """The Gaussian-process latent variable model (models/gplvm.hpp), trained
    by L-BFGS on all rows. latent_ holds one latent point per row of the Y
    given to fit, in its order; transform places new rows in the trained
    latent space (analysis/gplvm_projection.hpp)."""

    _model_type = "gplvm"

    def __init__(self, latent_dim=2, kernel="rbf", learn_hyperparameters=True, method="auto", init="pca",
                 variance=1.0, lengthscale=1.0, noise_variance=0.1, max_iterations=500, grad_tol=1e-4,
                 rel_tol=1e-10, center=True, dtype="float64", seed=0, threads=0, verbose=False, callback=None,
                 options=None):
        self.latent_dim = latent_dim
        self.kernel = kernel
        self.learn_hyperparameters = learn_hyperparameters
        self.method = method
        self.init = init
        self.variance = variance
        self.lengthscale = lengthscale
        self.noise_variance = noise_variance
        self.max_iterations = max_iterations
        self.grad_tol = grad_tol
        self.rel_tol = rel_tol
        self.center = center
        self.dtype = dtype
        self.seed = seed
        self.threads = threads
        self.verbose = verbose
        self.callback = callback
        self.options = options

    _KEYS = {"latent_dim": "model.latent_dim", "kernel": "model.kernel",
             "learn_hyperparameters": "model.learn_hyperparameters", "method": "model.method", "init": "model.init",
             "variance": "model.variance", "lengthscale": "model.lengthscale",
             "noise_variance": "model.noise_variance", "max_iterations": "optim.max_iterations",
             "grad_tol": "optim.grad_tol", "rel_tol": "optim.rel_tol", "center": "data.center",
             "dtype": "model.dtype", "seed": "seed", "threads": "train.threads"}
    _FIXED = {"optim.type": "lbfgs"}

    def fit(self, Y, y=None):
        """Trains on the rows of Y (labels y, if given, only score the 1-NN error). Returns self."""
        super()._fit(Y, y)
        self._train_Y = _matrix(Y, "Y", for_fit=True)  # transform draws the training rows from it again
        return self

    def _set_fitted(self, result, X=None):
        super()._set_fitted(result, X)
        latent = result["params"]["X"]
        rows = self.rows_
        self.latent_ = latent
        if X is not None and rows is not None and len(rows) == X.shape[0]:
            self.latent_ = np.empty_like(latent)
            self.latent_[rows] = latent  # row i of the fit trained as row rows[i]: back to Y's order
        self.log_likelihood_ = self.summary_.get("log_likelihood")
        self._train_Y = None

    def fit_transform(self, Y, y=None):
        return self.fit(Y, y).latent_

    def transform(self, Y):
        """The most likely latent point of each new row, and keeps each row's log-likelihood in
        last_log_likelihood_."""
        out = self._apply(Y, self._train_Y)
        self.last_log_likelihood_ = out.get("log_likelihood", out.get("elbo"))
        return out["latent"] if "latent" in out else out["X_mean"]

    def score(self, Y, y=None):
        """The mean log-likelihood of the rows of Y placed in the latent space."""
        self.transform(Y)
        return float(np.mean(self.last_log_likelihood_))


class SwishMLP(_Estimator):
    """The one-hidden-layer classifier with Swish units and a softmax output
    (models/mlp.hpp). Labels may be any values; classes_ lists them."""

    _model_type = "mlp"
    _estimator_type = "classifier"

    def __init__(self, hidden=128, activation="swish", optimizer="adam", lr=0.001, epochs=10, batch_size=64,
                 schedule="constant", weight_decay=0.0, center=False, dtype="float32", init_scale=0.01, seed=0,
                 threads=0, verbose=False, callback=None, options=None):
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.schedule = schedule
        self.weight_decay = weight_decay
        self.center = center
        self.dtype = dtype
        self.init_scale = init_scale
        self.seed = seed
        self.threads = threads
        self.verbose = verbose
        self.callback = callback
        self.options = options

    _KEYS = {"hidden": "model.hidden", "activation": "model.activation", "optimizer": "optim.type", "lr": "optim.lr",
             "epochs": "train.epochs", "batch_size": "train.batch_size", "schedule": "optim.schedule",
             "weight_decay": "optim.weight_decay", "center": "data.center", "dtype": "model.dtype",
             "init_scale": "model.init_scale", "seed": "seed", "threads": "train.threads"}

    def fit(self, X, y):
        """Trains on the rows of X with labels y. Returns self."""
        X = _matrix(X, "X", for_fit=True)
        y = _labels(y, X.shape[0])
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y: needs at least 2 classes, got {len(classes)}")
        result = _core.fit("", self._overrides() + [f"model.classes={len(classes)}"], X, codes.astype(np.int64),
                           self.callback, bool(self.verbose))
        self._set_fitted(result, X)
        self.classes_ = classes
        return self

    def _set_fitted(self, result, X=None):
        super()._set_fitted(result, X)
        self.classes_ = np.arange(int(self.config_.get("model.classes", 10)))

    def predict_proba(self, X):
        return self._apply(X)["probabilities"]

    def predict(self, X):
        return self.classes_[self._apply(X)["classes"]]

    def score(self, X, y):
        """The accuracy on (X, y)."""
        y = _labels(y, np.shape(X)[0])
        return float(np.mean(self.predict(X) == y))


_CLASSES = {"linear_autoencoder": LinearAutoencoder, "gplvm": GPLVM, "mlp": SwishMLP}


def _estimator_for(config):
    """An estimator of the config's model type with its parameters read from
    the config, and every other key in `options`, so that get_params (and a
    clone fitted on new rows) describes the same run."""
    mtype = config.get("model.type")
    cls = _CLASSES.get(mtype)
    if cls is None:
        raise ValueError(f"model.type {mtype}: no Python estimator for it yet (linear_autoencoder, gplvm, mlp)")
    est = cls()
    for name, key in cls._KEYS.items():
        if key in config:
            setattr(est, name, config[key])
    taken = set(cls._KEYS.values()) | set(cls._FIXED) | {"model.type", "output.dir"}
    est.options = {k: v for k, v in config.items() if k not in taken}
    return est


def fit_config(path, overrides=None, verbose=False, callback=None):
    """Trains a YAML config (and `overrides`, a dict {"key.path": value} or a
    list of "key=value") exactly as `train --config PATH --set key=value`
    does: the same data, seed and steps, so the same parameters to the bit.
    Returns the fitted estimator of the config's model type (nothing is
    written; `train` writes the run directory)."""
    mtype = _flat_config(_core.resolve_config(os.fspath(path), _override_list(overrides))).get("model.type")
    if mtype not in _CLASSES:  # said before the training, not after it
        raise ValueError(f"{os.fspath(path)}: model.type {mtype}: no Python estimator for it yet "
                         f"({', '.join(sorted(_CLASSES))}); train it with `train --config`")
    result = _core.fit(os.fspath(path), _override_list(overrides), None, None, callback, bool(verbose))
    est = _estimator_for(_flat_config(result["config"]))
    est._set_fitted(result)
    return est


def load_run(run_dir):
    """A run directory written by `train` as a fitted estimator: its
    config.yaml, the parameter blocks (<block>.npy), mean.npy and
    summary.json. A GPLVM's transform draws its training rows again from the
    config's data, as `train apply` does."""
    run_dir = os.fspath(run_dir)
    config_path = os.path.join(run_dir, "config.yaml")
    if not os.path.isfile(config_path):
        raise ValueError(f"{run_dir}: not a run directory (no config.yaml)")
    yaml_text = _core.resolve_config(config_path, [])
    params = {}
    for name in sorted(os.listdir(run_dir)):
        if name.endswith(".npy"):
            path = os.path.join(run_dir, name)
            try:
                params[name[:-4]] = np.load(path)
            except Exception as e:
                raise ValueError(f"{path}: not a readable .npy file ({e})") from None
            value = params[name[:-4]]
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                raise ValueError(f"{path}: holds NaN or Inf (a run writes finite values only: the file was changed)")
    summary = {}
    if os.path.isfile(os.path.join(run_dir, "summary.json")):
        with open(os.path.join(run_dir, "summary.json")) as f:
            summary = json.load(f)
    result = {"config": yaml_text, "params": params, "summary": summary, "rows": params.get("rows"),
              "mean": params.get("mean"), "scale": summary.get("data_scale", 1.0)}
    est = _estimator_for(_flat_config(yaml_text))
    est._set_fitted(result)
    est.run_dir_ = run_dir
    return est
