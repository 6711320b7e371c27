"""Runs infra/bento/package.py's predict-example functions on cases read from stdin (for
packaging's TestPredictExample) and prints one JSON list of results on stdout.

A case is one of:
  {"example": EXAMPLE}           rows_from_example(EXAMPLE as MLflow would load it)
  {"schema": "<schema JSON>"}    rows_from_schema(mlflow.types.Schema.from_json(...))
  {"model": {"signature": "<schema JSON>" | null, "example": <split DataFrame> | null,
             "drop_example_file": bool}}
                                 predict_example(a model directory saved with those)
EXAMPLE: {"dataframe": {"columns", "data"}}, {"ndarray": [...], "dtype"}, {"dict": {...}},
{"dict_of_arrays": {...}}, {"list": [...]}, {"string": "..."}, {"sparse": [[...]]}, {"none": true}.
A result is {"rows": ...} (null for none), plus "source" for model cases.
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, sys.argv[1])  # infra/bento
import package  # noqa: E402


def example_of(spec):
    import numpy as np
    import pandas as pd

    if "dataframe" in spec:
        return pd.DataFrame(spec["dataframe"]["data"], columns=spec["dataframe"]["columns"])
    if "ndarray" in spec:
        return np.asarray(spec["ndarray"], dtype=spec.get("dtype", "float64"))
    if "dict" in spec:
        return spec["dict"]
    if "dict_of_arrays" in spec:
        return {k: np.asarray(v) for k, v in spec["dict_of_arrays"].items()}
    if "list" in spec:
        return spec["list"]
    if "string" in spec:
        return spec["string"]
    if "sparse" in spec:
        import scipy.sparse

        return scipy.sparse.csr_matrix(np.asarray(spec["sparse"], dtype="float64"))
    return None


def model_dir(spec, tmp):
    from mlflow.models import Model, ModelSignature
    from mlflow.types import Schema

    m = Model()
    if spec.get("signature"):
        m.signature = ModelSignature(inputs=Schema.from_json(spec["signature"]))
    if spec.get("example") is not None:
        m.saved_input_example_info = {"artifact_path": "input_example.json", "type": "dataframe", "pandas_orient": "split"}
        if not spec.get("drop_example_file"):
            with open(os.path.join(tmp, "input_example.json"), "w") as f:
                json.dump(spec["example"], f)
    m.save(os.path.join(tmp, "MLmodel"))
    return tmp


def run(case):
    from mlflow.types import Schema

    if "example" in case:
        return {"rows": package.rows_from_example(example_of(case["example"]))}
    if "schema" in case:
        return {"rows": package.rows_from_schema(Schema.from_json(case["schema"]))}
    with tempfile.TemporaryDirectory() as tmp:
        body, source = package.predict_example(package.pathlib.Path(model_dir(case["model"], tmp)))
    return {"rows": body["rows"] if body else None, "source": source}


if __name__ == "__main__":
    print(json.dumps([run(c) for c in json.load(sys.stdin)]))
