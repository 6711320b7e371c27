"""Logs a tiny scikit-learn model to the MLflow server in MLFLOW_TRACKING_URI.

Usage: python log_model.py <experiment-name>
The model is a LogisticRegression on three double columns f0, f1, f2 (predicts 1 when f0 + f1 > 0),
logged with its signature and a two-row input example, as a real model would be: the bento packager
turns the example into the synthetic inference of the health check. Predict requests may name the
columns ({"f0": 1.0, ...}) or give them in order ([1.0, 2.0, 3.0]). The signature makes MLflow enforce
the column types: a column whose values are all whole JSON numbers (1, not 1.0) arrives as int64,
which MLflow refuses for a double column.
It is logged with the evidence the governance gates read, as a training CI would record it: the
run's test results as tags (tests.passed, tests.failed, tests.coverage), a model card
(model_card.md beside MLmodel, in both the logged model and legacy_model/) and a drift reference
profile (drift_reference.json beside it, package drift's format: per feature, ten bins at the
deciles of the training population, a standard normal, and the share of it in each). With
TD_LOG_EVIDENCE=none none of them is logged.
Prints one JSON object as the last line of stdout (MLflow prints its own "View run" lines before it).
Used by tests/realparts/mlflow.go (LogSklearnModel).
"""

import json
import os
import sys
import tempfile

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

COLUMNS = ["f0", "f1", "f2"]

MODEL_CARD = """# Model card: f0 + f1 > 0

- Intended use: TemporalDeployer's tests and demo; predicts 1 when f0 + f1 > 0.
- Training data: 40 rows drawn from a standard normal in f0, f1, f2 (seed 0).
- Evaluation: the test suite below; no fairness-relevant features.
- Owner: the TemporalDeployer maintainers.
"""

TEST_EVIDENCE = {"tests.passed": "42", "tests.failed": "0", "tests.coverage": "0.935"}


def drift_reference(population: pd.DataFrame, bins: int = 10) -> dict:
    """The drift reference profile of a training population (package drift documents the recipe)."""
    features = []
    for name in population.columns:
        x = population[name].dropna().to_numpy()
        edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1])).tolist()
        counts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1)
        features.append({"name": name, "edges": edges, "expected": (counts / counts.sum()).tolist()})
    return {"version": 1, "features": features}


def main() -> None:
    experiment = sys.argv[1] if len(sys.argv) > 1 else "temporaldeployer-test"
    mlflow.set_experiment(experiment)
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(40, 3)), columns=COLUMNS)
    y = (x["f0"] + x["f1"] > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    example = x.head(2)
    signature = infer_signature(example, model.predict(example))
    # Pinned requirements skip MLflow's slow dependency inference.
    requirements = [f"scikit-learn=={sklearn.__version__}", f"mlflow=={mlflow.__version__}"]
    evidence = os.environ.get("TD_LOG_EVIDENCE", "full") != "none"
    with mlflow.start_run() as run:
        if evidence:
            mlflow.set_tags(TEST_EVIDENCE)
        # MLflow 3: the model becomes a logged model (models:/m-<id>) stored outside the run's
        # artifacts.
        info = mlflow.sklearn.log_model(
            model, name="model", pip_requirements=requirements, signature=signature, input_example=example
        )
        # MLflow 2 style: the same model saved as plain run artifacts under legacy_model/.
        with tempfile.TemporaryDirectory() as tmp:
            saved = os.path.join(tmp, "legacy_model")
            mlflow.sklearn.save_model(
                model, saved, pip_requirements=requirements, signature=signature, input_example=example
            )
            if evidence:
                # The training population the model was drawn from: 10,000 rows of the same normal.
                population = pd.DataFrame(np.random.default_rng(1).normal(size=(10000, 3)), columns=COLUMNS)
                files = {"model_card.md": MODEL_CARD, "drift_reference.json": json.dumps(drift_reference(population))}
                for fname, text in files.items():
                    path = os.path.join(saved, fname)
                    with open(path, "w") as f:
                        f.write(text)
                    mlflow.MlflowClient().log_model_artifact(info.model_id, path)
            mlflow.log_artifacts(saved, artifact_path="legacy_model")
        out = {
            "model_uri": info.model_uri,
            "model_id": info.model_id,
            "model_name": info.name,
            "model_artifact_uri": info.artifact_path,
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "artifact_uri": run.info.artifact_uri,
            "legacy_artifact_path": "legacy_model",
        }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
