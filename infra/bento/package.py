"""Builds TemporalDeployer's bento for one MLflow model and exports it to a .bento archive.

Usage:
  python package.py --model-uri models:/<name>/<version> --bento-tag e2i_<exp>_model:v<version> \
                    --out-dir DIR [--tracking-uri URI]

Environment: MLFLOW_TRACKING_URI (unless --tracking-uri), BENTOML_HOME (the model and bento store),
BENTOML_DO_NOT_TRACK=true (set here too). Nothing is fetched from a package index
(lock_packages: false), so it runs offline.

Steps: resolve the model URI in MLflow; check it has the python_function flavour; import it into
the BentoML model store with bentoml.mlflow.import_model (tag = the bento tag); build the bento from
the template next to this file (bentofile.yaml + service.py); export it to DIR/<name>-<version>.bento
(reproducibly: the same stored bento always exports to the same bytes).
A model or bento already in the store from the same MLflow model (and, for the bento, the same
template) is reused; one from another model under the same tag is replaced (the store is a cache;
the OCI registry is the record).

It also reports a predict request body for the health check's synthetic inference, in the shape
service.py accepts ({"rows": [...]}): the model's recorded input example (input_example.json, read
with mlflow.models.Model.load_input_example), at most MAX_EXAMPLE_ROWS rows; failing that, two rows
of typical values (0.0, 0, "", false) built from its input signature; failing that, none.

stdout's last line is one JSON object (everything else goes to stderr):
  {"ok": true, "bento_tag", "archive", "model_tag", "flavour", "flavours", "creation_time",
   "model_uuid", "bentoml_version", "mlflow_version", "reused_model", "reused_bento",
   "input_example_json" (the body as a JSON text, or ""), "input_example_source"
   ("input_example" | "signature" | "")}
  {"ok": false, "kind": KIND, "message": ...}
Exit codes (and KIND): 0 ok; 2 invalid_argument; 3 model_not_found (the URI does not resolve);
4 unsupported_flavour (no python_function flavour, or not an MLflow model); 5 mlflow_unavailable
(transient: connection errors, 5xx); 6 mlflow_denied (MLflow refused the credentials: 401, 403);
1 build_failed (anything else).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import pathlib
import re
import shutil
import sys
import tarfile
import tempfile
import typing as t

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

HERE = pathlib.Path(__file__).resolve().parent
EXIT = {"invalid_argument": 2, "model_not_found": 3, "unsupported_flavour": 4, "mlflow_unavailable": 5, "mlflow_denied": 6,
        "build_failed": 1}
NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"}
DENIED_CODES = {"UNAUTHENTICATED", "PERMISSION_DENIED"}  # retrying cannot fix the credentials
TAG_PART = re.compile(r"^[a-z0-9]([-._a-z0-9]*[a-z0-9])?$")
REGISTERED = re.compile(r"^models:/([^/@]+)/([0-9]+)$")
MAX_EXAMPLE_ROWS = 16  # rows of a recorded input example kept for the health check
SIGNATURE_ROWS = 2  # rows built from a signature
# Typical values for the signature's column types; a required column of another type (binary,
# datetime, arrays, objects) means no rows can be built.
TYPICAL = {"double": 0.0, "float": 0.0, "integer": 0, "long": 0, "string": "", "boolean": False}


class Failure(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-uri", required=True)
    p.add_argument("--bento-tag", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", ""))
    args = p.parse_args(argv)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = package(args.model_uri, args.bento_tag, pathlib.Path(args.out_dir), args.tracking_uri)
    except Failure as f:
        print(json.dumps({"ok": False, "kind": f.kind, "message": str(f)}), flush=True)
        return EXIT[f.kind]
    except Exception as e:  # noqa: BLE001 - reported as build_failed with its type
        print(json.dumps({"ok": False, "kind": "build_failed", "message": f"{type(e).__name__}: {e}"}), flush=True)
        return EXIT["build_failed"]
    print(json.dumps(result, sort_keys=True), flush=True)
    return 0


def package(model_uri: str, bento_tag: str, out_dir: pathlib.Path, tracking_uri: str) -> dict[str, t.Any]:
    name, _, version = bento_tag.partition(":")
    if not (TAG_PART.match(name) and TAG_PART.match(version)) or len(name) > 63:
        raise Failure("invalid_argument", f"bento tag {bento_tag!r}: want <name>:<version>, lowercase, digits, '-', '_', '.'")
    if not model_uri.strip():
        raise Failure("invalid_argument", "model URI is empty")
    if not tracking_uri:
        raise Failure("invalid_argument", "no MLflow tracking URI (--tracking-uri or MLFLOW_TRACKING_URI)")
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    source = resolve(model_uri)
    info = model_info(model_uri)
    flavours = sorted(info.flavors)
    if "python_function" not in info.flavors:
        raise Failure("unsupported_flavour", f"{model_uri} has flavours {flavours}; the bento serves python_function models only")
    flavour = next((f for f in flavours if f != "python_function"), "python_function")
    labels = {
        "mlflow_model_uri": model_uri,
        "mlflow_model_uuid": str(info.model_uuid or ""),
        "mlflow_run_id": str(info.run_id or ""),
        "mlflow_flavour": flavour,
        "built_by": "temporaldeployer",
        "td_template": template_digest(),
        **source,
    }
    import bentoml

    model, reused_model = import_model(bentoml, bento_tag, model_uri, labels)
    bento, reused_bento = build_bento(bentoml, bento_tag, model, labels)
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = export(bentoml, bento, out_dir / f"{name}-{version}.bento")
    example, example_source = predict_example(pathlib.Path(model.path_of("mlflow_model")))
    return {
        "ok": True,
        "bento_tag": str(bento.tag),
        "archive": str(archive.resolve()),
        "model_tag": str(model.tag),
        "flavour": flavour,
        "flavours": flavours,
        "model_uuid": labels["mlflow_model_uuid"],
        "creation_time": bento.info.creation_time.isoformat(),
        "bentoml_version": bentoml.__version__,
        "mlflow_version": mlflow.__version__,
        "reused_model": reused_model,
        "reused_bento": reused_bento,
        "input_example_json": json.dumps(example, allow_nan=False) if example is not None else "",
        "input_example_source": example_source,
        "bento_requirements": bento_requirements(bento),
    }


def resolve(model_uri: str) -> dict[str, str]:
    """Checks a models:/<name>/<version> URI against the registry; returns the registry labels."""
    m = REGISTERED.match(model_uri)
    if not m:
        return {}
    from mlflow.tracking import MlflowClient

    with mlflow_errors(model_uri):
        mv = MlflowClient().get_model_version(m.group(1), m.group(2))
    return {"mlflow_registered_model": mv.name, "mlflow_model_version": str(mv.version)}


def model_info(model_uri: str) -> t.Any:
    from mlflow.models import get_model_info

    try:
        with mlflow_errors(model_uri):
            return get_model_info(model_uri)
    except Failure as f:
        if f.kind == "model_not_found" and REGISTERED.match(model_uri):
            # The registry has the version (resolve passed) but its source is not an MLflow model.
            raise Failure("unsupported_flavour", f"{model_uri} is not an MLflow model (no MLmodel): {f}") from None
        raise


@contextlib.contextmanager
def mlflow_errors(model_uri: str) -> t.Iterator[None]:
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as e:
        code = str(getattr(e, "error_code", ""))
        msg = str(e)
        if code in NOT_FOUND_CODES or "No such file or directory" in msg:
            raise Failure("model_not_found", f"{model_uri} does not resolve: {first_line(msg)}") from None
        if code in DENIED_CODES:
            raise Failure("mlflow_denied", f"{model_uri}: MLflow refused the credentials ({code}): {first_line(msg)}") from None
        raise Failure("mlflow_unavailable", f"{model_uri}: MLflow error {code}: {first_line(msg)}") from None
    except (OSError, ConnectionError) as e:
        if isinstance(e, FileNotFoundError):
            raise Failure("model_not_found", f"{model_uri} does not resolve: {e}") from None
        raise Failure("mlflow_unavailable", f"{model_uri}: {type(e).__name__}: {e}") from None


def import_model(bentoml: t.Any, tag: str, model_uri: str, labels: dict[str, str]) -> tuple[t.Any, bool]:
    try:
        existing = bentoml.models.get(tag)
    except bentoml.exceptions.NotFound:
        existing = None
    if existing is not None:
        if same_source(existing.info.labels, labels):
            return existing, True
        bentoml.models.delete(tag)
    with mlflow_errors(model_uri):
        model = bentoml.mlflow.import_model(tag, model_uri, labels=labels)
    return model, False


def build_bento(bentoml: t.Any, tag: str, model: t.Any, labels: dict[str, str]) -> tuple[t.Any, bool]:
    import yaml

    try:
        existing = bentoml.bentos.get(tag)
    except bentoml.exceptions.NotFound:
        existing = None
    if existing is not None:
        if same_source(existing.info.labels, labels, "td_template"):
            return existing, True
        bentoml.bentos.delete(tag)
    name, _, version = tag.partition(":")
    with tempfile.TemporaryDirectory(prefix="td-bento-build-") as ctx:
        ctxp = pathlib.Path(ctx)
        shutil.copy(HERE / "service.py", ctxp / "service.py")
        meta = {"model_tag": str(model.tag), "service_name": name, "bento_tag": tag, "mlflow_model_uri": labels["mlflow_model_uri"]}
        (ctxp / "td_bento.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        reqs = pathlib.Path(model.path_of("mlflow_model")) / "requirements.txt"
        # A model saved without requirements gets the MLflow it was loaded with, pinned (R12).
        (ctxp / "requirements.txt").write_text(reqs.read_text() if reqs.exists() else f"mlflow=={mlflow_version()}\n")
        spec = yaml.safe_load((HERE / "bentofile.yaml").read_text())
        spec["name"] = name
        spec["labels"] = dict(labels)
        (ctxp / "bentofile.yaml").write_text(yaml.safe_dump(spec, sort_keys=True))
        bento = bentoml.bentos.build_bentofile(str(ctxp / "bentofile.yaml"), build_ctx=ctx, version=version)
    return bento, False


def mlflow_version() -> str:
    import mlflow

    return mlflow.__version__


def bento_requirements(bento: t.Any) -> list[str]:
    """The lines of the bento's requirements file, what its image installs (R12 judges them)."""
    path = pathlib.Path(bento.path) / "env" / "python" / "requirements.txt"
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line.strip()]


def export(bentoml: t.Any, bento: t.Any, archive: pathlib.Path) -> pathlib.Path:
    """bentoml export, made reproducible: BentoML exports the bento (with its models) as a folder,
    which is written as a tar.xz with sorted entries, the bento's creation time as every mtime and
    no owners, so the same stored bento always gives the same bytes. `bentoml import` reads it."""
    mtime = int(bento.info.creation_time.timestamp())
    with tempfile.TemporaryDirectory(prefix="td-bento-export-", dir=archive.parent) as tmp:
        folder = pathlib.Path(bentoml.bentos.export_bento(bento.tag, tmp + "/bento/", "folder"))
        part = archive.with_name(archive.name + ".part")
        with tarfile.open(part, "w:xz", format=tarfile.PAX_FORMAT) as tar:
            for path in [folder, *sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix())]:
                rel = path.relative_to(folder).as_posix()
                info = tar.gettarinfo(str(path), arcname="." if rel == "." else "./" + rel)
                info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
                info.mode = 0o755 if info.isdir() or info.mode & 0o100 else 0o644
                if info.isfile():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
        os.replace(part, archive)
    return archive


def predict_example(model_dir: pathlib.Path) -> tuple[dict[str, t.Any] | None, str]:
    """The predict body ({"rows": [...]}) for the health check, and where it came from: the model's
    recorded input example, else its input signature; (None, "") when neither gives rows. Problems
    reading either are reported on stderr, never fatal: the probe then checks readiness only."""
    from mlflow.models import Model

    try:
        mlmodel = Model.load(str(model_dir))
    except Exception as e:  # noqa: BLE001 - import_model read it already; say so and go on
        print(f"input example: cannot read the MLmodel in {model_dir}: {type(e).__name__}: {e}", file=sys.stderr)
        return None, ""
    try:
        rows = rows_from_example(mlmodel.load_input_example(str(model_dir)))
    except Exception as e:  # noqa: BLE001 - e.g. a recorded example whose file is missing
        print(f"input example of {model_dir}: {type(e).__name__}: {e}; trying the signature", file=sys.stderr)
        rows = None
    if rows:
        return {"rows": rows[:MAX_EXAMPLE_ROWS]}, "input_example"
    schema = mlmodel.get_input_schema()
    rows = rows_from_schema(schema) if schema is not None else None
    if rows:
        return {"rows": rows}, "signature"
    return None, ""


def rows_from_example(example: t.Any) -> list[t.Any] | None:
    """Rows (objects or arrays, as service.py takes them) from an input example as MLflow loads it:
    a DataFrame, an ndarray (batch first), a sparse matrix, a dict (one row, or columns of equal
    length) or a list of rows. None for anything else (a string, named tensors, a 1-D array)."""
    import numpy as np
    import pandas as pd

    if example is None:
        return None
    if hasattr(example, "toarray"):  # scipy sparse
        example = example.toarray()
    if isinstance(example, dict):
        values = list(example.values())
        if values and all(isinstance(v, (list, tuple, np.ndarray)) for v in values):
            if len({len(v) for v in values}) != 1:
                return None
            example = pd.DataFrame(example)
        elif all(v is None or isinstance(v, (str, int, float, bool, np.generic)) for v in values):
            example = [example]
        else:
            return None
    if isinstance(example, pd.DataFrame):
        frame = example.astype(object).where(example.notna(), None)
        named = all(isinstance(c, str) for c in frame.columns)
        example = frame.to_dict(orient="records") if named else frame.values.tolist()
    elif isinstance(example, np.ndarray):
        if example.ndim < 2:
            return None
        example = example.tolist()
    if not isinstance(example, list) or not example:
        return None
    if not (all(isinstance(r, dict) for r in example) or all(isinstance(r, (list, tuple)) for r in example)):
        return None
    try:
        return json.loads(json.dumps(example, allow_nan=False, default=_plain))
    except (TypeError, ValueError) as e:
        print(f"input example: not representable as JSON rows: {e}", file=sys.stderr)
        return None


def _plain(v: t.Any) -> t.Any:
    """json.dumps fallback: numpy scalars as Python ones, timestamps as ISO 8601."""
    if hasattr(v, "item"):
        return v.item()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    raise TypeError(f"{type(v).__name__} is not JSON")


def rows_from_schema(schema: t.Any) -> list[t.Any] | None:
    """SIGNATURE_ROWS rows of typical values from an input schema: a column schema's columns
    (objects when named, arrays in order otherwise; optional columns of other types are left out),
    or one numeric tensor of shape (-1, d1, ...) with fixed dimensions. None when neither fits."""
    import numpy as np
    from mlflow.types import DataType

    inputs = schema.inputs
    if not inputs:
        return None
    if schema.is_tensor_spec():
        if len(inputs) != 1:
            return None
        spec = inputs[0]
        shape, kind = tuple(spec.shape), np.dtype(spec.type).kind
        if len(shape) < 2 or shape[0] != -1 or any(d <= 0 for d in shape[1:]) or kind not in "biuf":
            return None
        typical = False if kind == "b" else (0 if kind in "iu" else 0.0)
        row = np.full(shape[1:], typical).tolist()
        return [row for _ in range(SIGNATURE_ROWS)]
    named, values = schema.has_input_names(), []
    for spec in inputs:
        kind = spec.type.name if isinstance(spec.type, DataType) else ""
        if kind in TYPICAL:
            values.append((spec.name, TYPICAL[kind]))
        elif spec.required or not named:  # an array row cannot leave a column out
            return None
    if not values:
        return None
    row: t.Any = {n: v for n, v in values} if named else [v for _, v in values]
    return [json.loads(json.dumps(row)) for _ in range(SIGNATURE_ROWS)]


def template_digest() -> str:
    """Identifies the service template, so a stored bento built from an older one is rebuilt."""
    h = hashlib.sha256()
    for name in ("service.py", "bentofile.yaml"):
        h.update((HERE / name).read_bytes())
    return h.hexdigest()[:16]


def same_source(have: dict[str, str], want: dict[str, str], *extra: str) -> bool:
    keys = ("mlflow_model_uri", "mlflow_model_uuid", "mlflow_run_id", *extra)
    return all(have.get(k) == want.get(k) for k in keys)


def first_line(s: str) -> str:
    return s.strip().splitlines()[0] if s.strip() else s


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
