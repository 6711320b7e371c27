#!/usr/bin/env python3
"""Checks that the OCI registry answers every image digest the demo's state names.

Reads the image references of the records (ml_deployments.image in the SQLite file) and of the
cluster's Deployments (every namespace, through the API server with the admin certificate of the
cluster's run dir), then sends a registry HEAD for each manifest by digest. Prints one line per
image and a summary; exits 1 if any is not answered (404 or another error), 0 otherwise.

    demo-images.py SQLITE_DB CLUSTER_RUN_DIR
"""
import json
import sqlite3
import ssl
import sys
import urllib.error
import urllib.request

ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def record_images(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {r[0] for r in con.execute("SELECT DISTINCT image FROM ml_deployments WHERE image <> ''")}
    finally:
        con.close()


def cluster_images(run):
    ports = dict(line.strip().split("=", 1) for line in open(f"{run}/ports.env") if "=" in line)
    ctx = ssl.create_default_context(cafile=f"{run}/pki/ca.crt")
    ctx.load_cert_chain(f"{run}/pki/admin.crt", f"{run}/pki/admin.key")
    url = f"https://127.0.0.1:{ports['APISERVER_PORT']}/apis/apps/v1/deployments"
    with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
        items = json.load(resp)["items"]
    out = {}
    for d in items:
        for c in d["spec"]["template"]["spec"].get("containers", []):
            out.setdefault(c["image"], []).append(f'{d["metadata"]["namespace"]}/{d["metadata"]["name"]}')
    return out


def head(ref):
    """HTTP status of a registry HEAD of ref's manifest (host/repo@sha256:...), plain HTTP."""
    name, sep, digest = ref.partition("@")
    if not sep:
        return "not pinned by digest"
    host, _, repo = name.partition("/")
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{digest}", method="HEAD",
                                 headers={"Accept": ACCEPT})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError as e:
        return f"unreachable ({e})"


def main():
    db, run = sys.argv[1], sys.argv[2]
    records = record_images(db)
    cluster = cluster_images(run)
    missing = 0
    for ref in sorted(records | set(cluster)):
        status = head(ref)
        where = []
        if ref in records:
            where.append("records")
        where += cluster.get(ref, [])
        print(f"   HEAD {status}  {ref}  ({', '.join(where)})")
        missing += status != 200
    total = len(records | set(cluster))
    print(f"   {total - missing}/{total} images named by the records ({len(records)}) and the cluster's "
          f"Deployments ({len(cluster)}) are answered by the registry")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
