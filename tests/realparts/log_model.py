"""Logs a tiny scikit-learn model to the MLflow server in MLFLOW_TRACKING_URI.

Usage: python log_model.py <experiment-name>
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
import sklearn
from sklearn.linear_model import LogisticRegression


def main() -> None:
    experiment = sys.argv[1] if len(sys.argv) > 1 else "temporaldeployer-test"
    mlflow.set_experiment(experiment)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    # Pinned requirements skip MLflow's slow dependency inference.
    requirements = [f"scikit-learn=={sklearn.__version__}", f"mlflow=={mlflow.__version__}"]
    with mlflow.start_run() as run:
        # MLflow 3: the model becomes a logged model (models:/m-<id>) stored outside the run's
        # artifacts.
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=requirements)
        # MLflow 2 style: the same model saved as plain run artifacts under legacy_model/.
        with tempfile.TemporaryDirectory() as tmp:
            saved = os.path.join(tmp, "legacy_model")
            mlflow.sklearn.save_model(model, saved, pip_requirements=requirements)
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
