"""Logs an MLflow model that has no python_function flavour (only a custom "onnx_like" flavour) to
the MLflow server in MLFLOW_TRACKING_URI, as run artifacts under model/.

Usage: python log_nopyfunc_model.py <experiment-name>
Prints one JSON object as the last line of stdout, in LogSklearnModel's shape (model_uri is the
runs:/<run_id>/model URI). Used by tests/realparts/bento.go (LogModelWithoutPyfunc): a model the
bento packager must refuse as an unsupported flavour.
"""

import json
import os
import sys
import tempfile

import mlflow
from mlflow.models import Model


def main() -> None:
    experiment = sys.argv[1] if len(sys.argv) > 1 else "temporaldeployer-test"
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model")
        os.makedirs(path)
        with open(os.path.join(path, "weights.bin"), "wb") as f:
            f.write(b"\x00\x01\x02\x03")
        m = Model(run_id=run.info.run_id, artifact_path="model")
        m.add_flavor("onnx_like", data="weights.bin", format_version="1")
        m.save(os.path.join(path, "MLmodel"))
        mlflow.log_artifacts(path, artifact_path="model")
        out = {
            "model_uri": f"runs:/{run.info.run_id}/model",
            "model_id": "",
            "model_name": "model",
            "model_artifact_uri": run.info.artifact_uri + "/model",
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "artifact_uri": run.info.artifact_uri,
            "legacy_artifact_path": "model",
        }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
