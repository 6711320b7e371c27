#!/usr/bin/env python3
"""Approve a TemporalDeployer run from Python: the proof that a non-Go service can approve.

It signs an approval (a compact JWS, EdDSA/Ed25519) over the binding claims the run publishes in its
`status` query, and sends it as the Update `approve`. The JWS is built by hand (no JOSE library) to
show other languages how little it takes. Usable as a command or as a library (`sign`, `approve`).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import sys
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.envconfig import ClientConfig
from temporalio.exceptions import ApplicationError

from payload_codec import KeyringError, data_converter

DEFAULT_ADDRESS = "127.0.0.1:7233"
BINDING_CLAIMS = ("workflow_id", "run_id", "deployment_name", "model_name", "model_version", "environment", "action")


class BadKey(ValueError):
    """The key file is not an Ed25519 private JWK."""


class NotWaiting(RuntimeError):
    """The run is not waiting for an approval."""


class BadConnection(ValueError):
    """Temporal's environment configuration (a profile, a certificate file) does not load."""


def connect_config(address: str | None, namespace: str | None) -> dict[str, Any]:
    """Client.connect's arguments as the worker and tdctl read them: Temporal's environment
    configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* for TLS and
    mTLS, TEMPORAL_PROFILE of TEMPORAL_CONFIG_FILE or temporal.toml), with --address and --namespace
    over it. With none of them set: the local dev server, plaintext."""
    try:
        cfg = dict(ClientConfig.load_client_connect_config())  # reads the certificate files too
    except Exception as e:  # the SDK's loader raises RuntimeError, OSError or ValueError by cause
        # A TOML parse error quotes the line it stopped at, which may hold the API key.
        why = re.sub(r'(api_key\s*=\s*)("[^"\n]*"?|\S+)', r'\1"…"', str(e))
        raise BadConnection(f"Temporal connection settings (TEMPORAL_*, profile): {why}") from None
    if address:
        cfg["target_host"] = address
    cfg.setdefault("target_host", DEFAULT_ADDRESS)
    if namespace:
        cfg["namespace"] = namespace
    cfg.setdefault("namespace", "default")
    return cfg


def transport(cfg: dict[str, Any]) -> str:
    """What the client presents, for error messages (as the worker's say it)."""
    tls = cfg.get("tls")
    if not tls:
        return "plaintext"
    if isinstance(tls, bool) or not tls.client_cert:
        return "tls, no client certificate"
    return "tls, client certificate"


class Rejected(RuntimeError):
    """The run rejected the approval (ApplicationError type ApprovalRejected); str() is the reason."""


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def private_key(jwk: dict[str, Any]) -> Ed25519PrivateKey:
    """Checks an Ed25519 private JWK ({"kty":"OKP","crv":"Ed25519","d","x","kid"}) and returns its key."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise BadKey('not an Ed25519 JWK: want "kty":"OKP" and "crv":"Ed25519"')
    if jwk.get("alg", "EdDSA") != "EdDSA":
        raise BadKey(f'"alg" is {jwk["alg"]!r}; an Ed25519 key signs EdDSA')
    if not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
        raise BadKey('the JWK has no "kid" (the key id the approver policy knows it by)')
    if not isinstance(jwk.get("d"), str):
        raise BadKey('the JWK has no private part "d" (is this the public key?)')
    try:
        seed = _b64url_decode(jwk["d"])
    except ValueError as e:
        raise BadKey(f'"d" is not base64url: {e}') from None
    if len(seed) != 32:
        raise BadKey(f'"d" must hold 32 bytes, it holds {len(seed)}')
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = b64url(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    if "x" in jwk and jwk["x"] != public:
        raise BadKey('"x" is not the public part of "d"')
    return key


def load_key(path: str) -> dict[str, Any]:
    """Reads and checks a private JWK file."""
    try:
        with open(path, encoding="utf-8") as f:
            jwk = json.load(f)
    except (OSError, ValueError) as e:
        raise BadKey(f"{path}: {e}") from None
    try:
        private_key(jwk)
    except BadKey as e:
        raise BadKey(f"{path}: {e}") from None
    return jwk


def sign(claims: dict[str, Any], jwk: dict[str, Any]) -> str:
    """Signs claims as a compact JWS: b64url(header).b64url(payload).b64url(Ed25519(header.payload))."""
    key = private_key(jwk)
    header = {"alg": "EdDSA", "kid": jwk["kid"], "typ": "JWT"}
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    signing_input = b64url(json.dumps(header, **compact).encode()) + "." + b64url(json.dumps(claims, **compact).encode())
    return signing_input + "." + b64url(key.sign(signing_input.encode("ascii")))


async def approve(client: Client, workflow_id: str, key: dict[str, Any], approver: str,
                  comment: str = "", ttl: int = 600) -> dict[str, Any]:
    """Approves the run waiting in workflow_id; returns the Update's result
    ({"accepted", "approver", "approvals", "required"}). Raises NotWaiting or Rejected."""
    handle = client.get_workflow_handle(workflow_id)
    status = await handle.query("status")
    if status.get("waiting_for") != "approval":
        raise NotWaiting(f"not waiting for an approval: {workflow_id} waits for "
                         f"{status.get('waiting_for') or 'nothing'} (node {status.get('node') or '-'})")
    request = status.get("approval_request") or {}
    missing = [c for c in BINDING_CLAIMS if c not in request]
    if missing:
        raise NotWaiting(f"the run's approval_request lacks {', '.join(missing)}")
    now = int(time.time())
    claims = {**request, "sub": approver, "iat": now, "exp": now + ttl}
    if comment:
        claims["comment"] = comment
    try:
        return await handle.execute_update("approve", {"token": sign(claims, key), "approver": approver, "comment": comment})
    except WorkflowUpdateFailedError as e:
        if isinstance(e.cause, ApplicationError) and e.cause.type == "ApprovalRejected":
            raise Rejected(e.cause.message) from None
        raise


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--address", help="Temporal's frontend (default: TEMPORAL_ADDRESS or the profile's, else "
                   + DEFAULT_ADDRESS + "); TLS, mTLS and an API key come from TEMPORAL_TLS_* / TEMPORAL_API_KEY")
    p.add_argument("--namespace", help="default: TEMPORAL_NAMESPACE or the profile's, else default")
    p.add_argument("--codec-keys", default=os.environ.get("DEPLOYER_CODEC_KEYS") or None,
                   help="the worker's payload keyring, when it encrypts (default $DEPLOYER_CODEC_KEYS)")
    p.add_argument("--key", required=True, help="private Ed25519 JWK file")
    p.add_argument("--approver", help="your identity (the JWS sub); must own the key in the worker's policy")
    p.add_argument("--comment", default="")
    p.add_argument("--ttl", type=int, default=600, help="seconds the approval stays valid (default 600)")
    p.add_argument("--print-token", action="store_true", help="sign --claims and print the token; no Temporal")
    p.add_argument("--claims", help="JSON file of the claims to sign (with --print-token)")
    p.add_argument("workflow_id", nargs="?", metavar="WORKFLOW_ID")
    args = p.parse_args(argv)
    try:
        key = load_key(args.key)
    except BadKey as e:
        p.exit(2, f"bad key: {e}\n")
    if args.print_token:
        if not args.claims:
            p.error("--print-token needs --claims FILE.json")
        try:
            with open(args.claims, encoding="utf-8") as f:
                claims = json.load(f)
        except (OSError, ValueError) as e:
            p.exit(2, f"bad claims file: {args.claims}: {e}\n")
        print(sign(claims, key))
        return 0
    if not args.workflow_id or not args.approver:
        p.error("WORKFLOW_ID and --approver are required")
    if args.ttl < 1:
        p.error("--ttl must be at least 1 second")

    try:
        cfg = connect_config(args.address, args.namespace)
    except BadConnection as e:
        p.exit(2, f"error: {e}\n")

    async def run() -> dict[str, Any]:
        try:
            client = await Client.connect(**cfg, data_converter=data_converter(args.codec_keys))
        except RuntimeError as e:
            raise RuntimeError(f"cannot reach Temporal at {cfg['target_host']} (namespace {cfg['namespace']}, "
                               f"{transport(cfg)}): {e}") from None
        return await approve(client, args.workflow_id, key, args.approver, args.comment, args.ttl)

    try:
        result = asyncio.run(run())
    except NotWaiting as e:
        print(e)
        return 3
    except Rejected as e:
        print(f"rejected: {e}")
        return 1
    except WorkflowUpdateFailedError as e:
        print(f"error: the approve Update failed: {e.cause}", file=sys.stderr)
        return 4
    except KeyringError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # connection, unknown workflow, ...: a plain message, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 4
    print(f"accepted: approvals {result.get('approvals')} of {result.get('required')}")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation: the SDK's native runtime threads can abort it
    # ("PyGILState_Release: thread state ... must be current", seen with temporalio 1.35 on 3.11).
    os._exit(code)
