"""TemporalDeployer's payload encryption for Python clients: the same format as the Go package
`codec` (and the codec server), so a Python service can talk to an encrypting worker.

Every payload is sealed with AES-256-GCM under the keyring's newest key: metadata
`encoding: binary/encrypted` and `encryption-key-id: <id>`; data is a 12-byte nonce followed by the
sealed bytes of the original payload (protobuf), the key ID as additional authenticated data. A
payload under a key the keyring does not hold raises; nothing falls back to plaintext.

The keyring file (DEPLOYER_CODEC_KEYS): {"keys":[{"id": ..., "key": <base64 of 32 bytes>}, ...]},
oldest first; the last key seals, all of them open.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
from typing import Iterable, List, Sequence

import temporalio.converter
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_SIZE = 12
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class KeyringError(ValueError):
    """The keyring file is missing or malformed, or a payload names a key it does not hold."""


def parse_keyring(text: str) -> list[tuple[str, bytes]]:
    """Checks a keyring file's contents; returns its (id, key) pairs, oldest first."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise KeyringError(f'not a keyring {{"keys":[{{"id":…,"key":…}}]}}: {e}') from None
    if not isinstance(doc, dict) or set(doc) != {"keys"} or not isinstance(doc["keys"], list):
        raise KeyringError('not a keyring {"keys":[{"id":…,"key":…}]}')
    if not doc["keys"]:
        raise KeyringError("the keyring holds no key")
    keys: list[tuple[str, bytes]] = []
    for i, k in enumerate(doc["keys"]):
        kid = k.get("id") if isinstance(k, dict) else None
        if not isinstance(kid, str) or not _KEY_ID_RE.match(kid):
            raise KeyringError(f"key {i}: id {kid!r} must be 1-64 letters, digits, '.', '_' or '-'")
        if any(kid == seen for seen, _ in keys):
            raise KeyringError(f"key {i}: id {kid!r} appears twice")
        try:
            secret = base64.b64decode(k.get("key", ""), validate=True)
        except ValueError as e:
            raise KeyringError(f"key {kid!r}: not base64: {e}") from None
        if len(secret) != 32:
            raise KeyringError(f"key {kid!r}: holds {len(secret)} bytes, AES-256 needs 32")
        keys.append((kid, secret))
    return keys


def load_keyring(path: str) -> list[tuple[str, bytes]]:
    """Reads a keyring file (DEPLOYER_CODEC_KEYS)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise KeyringError(f"codec keyring (DEPLOYER_CODEC_KEYS): {e}") from None
    try:
        return parse_keyring(text)
    except KeyringError as e:
        raise KeyringError(f"codec keyring {path} (DEPLOYER_CODEC_KEYS): {e}") from None


class AESGCMCodec(temporalio.converter.PayloadCodec):
    """Seals payloads under the newest key of a keyring; opens them with whichever key they name."""

    def __init__(self, keys: Iterable[tuple[str, bytes]]):
        self._keys = list(keys)
        if not self._keys:
            raise KeyringError("the keyring holds no key")
        self._by_id = dict(self._keys)

    async def encode(self, payloads: Sequence[Payload]) -> List[Payload]:
        kid, secret = self._keys[-1]
        aead = AESGCM(secret)
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_SIZE)
            sealed = aead.encrypt(nonce, p.SerializeToString(), kid.encode())
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=nonce + sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> List[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)  # a payload from before the keyring: in the clear, as it came
                continue
            kid = p.metadata.get(KEY_ID, b"").decode()
            secret = self._by_id.get(kid)
            if secret is None:
                raise KeyringError(f"codec: payload sealed under key {kid!r}, which the keyring "
                                   f"(DEPLOYER_CODEC_KEYS) does not hold (it holds {', '.join(self._by_id)})")
            plain = AESGCM(secret).decrypt(p.data[:NONCE_SIZE], p.data[NONCE_SIZE:], kid.encode())
            out.append(Payload.FromString(plain))
        return out


def data_converter(keyring_path: str | None) -> temporalio.converter.DataConverter:
    """The SDK's default converter, sealing every payload and failure message when a keyring is given."""
    if not keyring_path:
        return temporalio.converter.default()
    return dataclasses.replace(
        temporalio.converter.default(),
        payload_codec=AESGCMCodec(load_keyring(keyring_path)),
        failure_converter_class=temporalio.converter.DefaultFailureConverterWithEncodedAttributes,
    )
