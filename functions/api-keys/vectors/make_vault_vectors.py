"""Computes the vault's fixed test vectors with an independent implementation (pyca/cryptography),
so the Rust tests compare against bytes this crate did not produce.

Run: python3 functions/api-keys/vectors/make_vault_vectors.py
"""
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DOMAIN = b"rls-edge/api-keys/aad/v1"
INFO = b"rls-edge/api-keys/record-key/v1"


def associated_data(user_id: str, service: str, version: int) -> bytes:
    fields = [DOMAIN, user_id.lower().encode(), service.encode(), struct.pack(">I", version)]
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def seal(master: bytes, version: int, user_id: str, service: str, plaintext: str, salt: bytes, nonce: bytes):
    record_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=INFO).derive(master)
    aad = associated_data(user_id, service, version)
    return record_key, aad, AESGCM(record_key).encrypt(nonce, plaintext.encode(), aad)


CASES = [
    dict(
        name="openai_v1",
        master=bytes(range(32)),
        version=1,
        user_id="8f0c3a52-6f1e-4d6b-9a57-2f1c5e3b7d10",
        service="openai",
        plaintext="sk-proj-test-0123456789abcdefghij",
        salt=bytes(range(0xA0, 0xB0)),
        nonce=bytes(range(0xC0, 0xCC)),
    ),
    dict(
        name="stripe_v7",
        master=bytes(0xFF - i for i in range(32)),
        version=7,
        user_id="0E9D6F2A-1B3C-4D5E-8F70-A1B2C3D4E5F6",
        service="stripe",
        plaintext="sk_test_51Nq0aBcDeFgHiJkLmNoPqRsTuVwXyZ",
        salt=bytes([0x11] * 16),
        nonce=bytes([0x22] * 12),
    ),
]

for case in CASES:
    record_key, aad, sealed = seal(
        case["master"], case["version"], case["user_id"], case["service"], case["plaintext"], case["salt"], case["nonce"]
    )
    print(case["name"])
    print("  record_key:", record_key.hex())
    print("  aad:       ", aad.hex())
    print("  sealed:    ", sealed.hex())
