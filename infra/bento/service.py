"""TemporalDeployer's generic bento service: serves one MLflow model (python_function flavour).

package.py copies this file into a build directory next to td_bento.json, which names the model in
the BentoML model store (imported with bentoml.mlflow.import_model), and builds the bento from it.

Endpoints:
  POST /predict   {"rows": [[1.0, 2.0, 3.0], ...]} or {"rows": [{"f0": 1.0, ...}, ...]}
                  -> {"predictions": [...]}; bad input is a 400, a model failure a 500.
  GET  /livez, /readyz   BentoML's own liveness and readiness.
  GET  /metrics   Prometheus: BentoML's bentoml_service_request_total (labels endpoint,
                  http_response_code), bentoml_service_request_duration_seconds (histogram),
                  bentoml_service_request_in_progress; plus td_predict_errors_total. The
                  duration histogram's buckets are LATENCY_BUCKETS_MS (below). With a drift reference
                  profile (drift_reference.json beside MLmodel, package drift's format), each
                  predicted row's inputs are counted per feature over the profile's bins:
                  td_feature_bin_total{feature, bin} (bin "0".."n", numpy.searchsorted(edges, x,
                  side="left"), as Go's drift.Bin) and td_feature_missing_total{feature} (absent or
                  not a number). The drift gate computes the PSI from them.

Fault switch for tests, off by default: TD_FAULT=error makes every predict fail with a 500 (counted
as an error); TD_FAULT_LATENCY_MS=N delays every predict by N milliseconds.
"""

from __future__ import annotations

import json
import os
import pathlib
import time
import typing as t

import bentoml
import numpy as np
import pandas as pd
from bentoml.exceptions import InvalidArgument

_META = json.loads((pathlib.Path(__file__).resolve().parent / "td_bento.json").read_text())

_errors = bentoml.metrics.Counter(
    name="td_predict_errors_total",
    documentation="Predict calls that failed, by kind (input: 400, model: 500, fault: injected 500)",
    labelnames=["kind"],
)


_bins = bentoml.metrics.Counter(
    name="td_feature_bin_total",
    documentation="Predicted inputs per feature and bin of the model's drift reference profile",
    labelnames=["feature", "bin"],
)

_missing = bentoml.metrics.Counter(
    name="td_feature_missing_total",
    documentation="Predicted inputs without a numeric value for a profiled feature",
    labelnames=["feature"],
)

DRIFT_PROFILE = "drift_reference.json"


class InjectedFault(RuntimeError):
    """Raised by the TD_FAULT=error switch."""


# Upper bounds (ms) of the request-duration histogram's buckets (+Inf is added by BentoML). Its
# defaults (5, 10, 25, 50, 100, 250 ms, ...) have no bound at 150 ms, the default p99 threshold, and
# histogram_quantile interpolates inside a bucket: every latency threshold judged needs a bound.
# Go's metrics.LatencyBucketsMS lists the same bounds (a test compares them).
LATENCY_BUCKETS_MS = (5, 10, 25, 50, 75, 100, 125, 150, 200, 250, 300, 400, 500, 750, 1000, 2500, 5000, 10000)

_METRICS = {"enabled": True, "duration": {"buckets": [ms / 1000.0 for ms in LATENCY_BUCKETS_MS]}}


@bentoml.service(name=_META["service_name"], traffic={"timeout": 60}, workers=1, metrics=_METRICS)
class ModelService:
    model_ref = bentoml.models.BentoModel(_META["model_tag"])

    def __init__(self) -> None:
        self.fault, self.delay_s = _fault_switch()
        # Every kind's series exists at 0 from the start: a counter series born at its first
        # increment is first scraped at N, and Prometheus's increase() counts that as 0.
        for kind in ("input", "model", "fault"):
            _errors.labels(kind=kind)
        self.model = bentoml.mlflow.load_model(self.model_ref)
        schema = self.model.metadata.get_input_schema()
        self.columns = schema.input_names() if schema is not None and schema.has_input_names() else None
        model_dir = pathlib.Path(bentoml.models.get(_META["model_tag"]).path_of("mlflow_model"))
        self.profile = _load_profile(model_dir / DRIFT_PROFILE, self.columns)
        for name, edges, _ in self.profile:
            _missing.labels(feature=name)
            for b in range(len(edges) + 1):
                _bins.labels(feature=name, bin=str(b))

    @bentoml.api(route="/predict")
    def predict(self, rows: t.List[t.Any]) -> t.Dict[str, t.Any]:
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        if self.fault == "error":
            _errors.labels(kind="fault").inc()
            raise InjectedFault("fault injected by TD_FAULT=error")
        try:
            data = self._frame(rows)
        except (TypeError, ValueError) as e:
            _errors.labels(kind="input").inc()
            raise InvalidArgument(f"rows: {e}") from e
        _count_bins(self.profile, data)
        try:
            out = self.model.predict(data)
        except Exception:
            _errors.labels(kind="model").inc()
            raise
        return {"predictions": _jsonable(out)}

    def _frame(self, rows: t.List[t.Any]) -> t.Any:
        if not rows:
            raise ValueError("want a non-empty list of rows")
        if all(isinstance(r, dict) for r in rows):
            return pd.DataFrame(rows)
        if all(isinstance(r, (list, tuple)) for r in rows):
            if self.columns is not None and all(len(r) == len(self.columns) for r in rows):
                return pd.DataFrame(rows, columns=self.columns)
            return np.asarray(rows, dtype=float)
        raise ValueError("every row must be an object (column -> value) or an array of numbers")


def _load_profile(path: pathlib.Path, columns: t.Optional[t.List[str]]) -> t.List[t.Tuple[str, np.ndarray, int]]:
    """The profile's features as (name, edges, column position); [] without a profile. A profile
    that does not parse is logged and not counted (the drift gate then measures no data)."""
    if not path.exists():
        return []
    try:
        doc = json.loads(path.read_text())
        out = []
        for i, f in enumerate(doc["features"]):
            pos = columns.index(f["name"]) if columns and f["name"] in columns else i
            out.append((str(f["name"]), np.asarray(f["edges"], dtype=float), pos))
        return out
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"td: drift reference profile {path} not used: {e}", flush=True)
        return []


def _count_bins(profile: t.List[t.Tuple[str, np.ndarray, int]], data: t.Any) -> None:
    """Counts each profiled feature's values of the predicted rows over its bins."""
    for name, edges, pos in profile:
        if isinstance(data, pd.DataFrame):
            if name not in data.columns:
                _missing.labels(feature=name).inc(len(data))
                continue
            col = pd.to_numeric(data[name], errors="coerce").to_numpy(dtype=float)
        elif data.ndim == 2 and pos < data.shape[1]:
            col = data[:, pos].astype(float)
        else:
            _missing.labels(feature=name).inc(len(data))
            continue
        nan = np.isnan(col)
        if nan.any():
            _missing.labels(feature=name).inc(int(nan.sum()))
        counts = np.bincount(np.searchsorted(edges, col[~nan], side="left"), minlength=len(edges) + 1)
        for b, c in enumerate(counts):
            if c:
                _bins.labels(feature=name, bin=str(b)).inc(int(c))


def _fault_switch() -> t.Tuple[str, float]:
    """Reads TD_FAULT and TD_FAULT_LATENCY_MS once; a bad value stops the service at start-up."""
    fault = os.environ.get("TD_FAULT", "").strip().lower()
    if fault not in ("", "off", "error"):
        raise ValueError(f"TD_FAULT={fault!r}: want error (or unset/off)")
    delay_ms = float(os.environ.get("TD_FAULT_LATENCY_MS", "") or 0)
    if delay_ms < 0:
        raise ValueError(f"TD_FAULT_LATENCY_MS={delay_ms}: want a non-negative number")
    return fault, delay_ms / 1000.0


def _jsonable(out: t.Any) -> t.Any:
    if isinstance(out, pd.DataFrame):
        return out.to_dict(orient="records")
    if isinstance(out, pd.Series):
        return out.tolist()
    return np.asarray(out).tolist()
