"""Credentials the way Mastercard's portal hands them out: consumer key, RSA key, PKCS#12 file."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from tfs import clock
from tfs.errors import ConfigurationError


@dataclass(frozen=True)
class IssuedCredential:
    consumer_key: str
    p12_path: Path
    password: str
    public_key_pem: str


def new_consumer_key() -> str:
    """Shaped like Mastercard's: 48 URL-safe characters, '!', then hex. Never with a leading
    '-', which every command line (ours included) would take for an option."""
    while True:
        key = secrets.token_urlsafe(36)[:48] + "!" + secrets.token_hex(24)
        if not key.startswith("-"):
            return key


def public_key_pem_from(data: bytes) -> str:
    """The RSA public key of a PEM public key or X.509 certificate (expired or not: Mastercard's
    own test certificate expired in 2019, and the gateway verifies the key, not the dates)."""
    key: object
    try:
        if b"CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ConfigurationError("Not a PEM public key or X.509 certificate.") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigurationError("Only RSA keys can sign Mastercard requests.")
    if key.key_size < 2048:
        raise ConfigurationError("RSA keys must have at least 2048 bits.")
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def fingerprint(public_key_pem: str) -> str:
    return hashlib.sha256(public_key_pem.encode()).hexdigest()


def issue(out_dir: Path, label: str) -> IssuedCredential:
    """A new key pair in a password-protected PKCS#12 file, as the portal's key generator does."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, label[:64])])
    now = clock.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3 * 365))
        .sign(key, hashes.SHA256())
    )
    password = secrets.token_urlsafe(18)
    blob = pkcs12.serialize_key_and_certificates(
        b"keyalias",
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(password.encode()),
    )
    consumer_key = new_consumer_key()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{label}-{consumer_key[:8]}.p12"
    path.write_bytes(blob)
    path.chmod(0o600)
    return IssuedCredential(
        consumer_key,
        path,
        password,
        public_key_pem_from(cert.public_bytes(serialization.Encoding.PEM)),
    )
