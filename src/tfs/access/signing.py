"""Mastercard OAuth 1.0a (RSA-SHA256, RSA-PSS): verify requests as the gateway does; sign them."""

# Why not oauthlib: Mastercard's signers do not percent-encode each oauth_* value before joining
# the parameter string (RFC 5849 §3.4.1.3.2 says they must), so an RFC-strict verifier rejects
# every request the official libraries sign. We rebuild the base string the way they build it.

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from tfs.errors import ForeignAuthParameter, InvalidAuthHeader
from tfs.fields import printable

RSA_SHA256 = "RSA-SHA256"
RSA_PSS = "RSA-PSS"
MAX_HEADER_LENGTH = 8192
# The longest consumer key or nonce the database can hold (`nonces` columns): longer is refused
# here rather than failing the insert (PostgreSQL enforces the length; SQLite does not).
MAX_KEY_OR_NONCE_LENGTH = 200

_PADDINGS: dict[str, padding.AsymmetricPadding] = {
    RSA_SHA256: padding.PKCS1v15(),
    RSA_PSS: padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
}
_REQUIRED = (
    "oauth_consumer_key",
    "oauth_nonce",
    "oauth_timestamp",
    "oauth_signature_method",
    "oauth_version",
    "oauth_body_hash",
    "oauth_signature",
)
# The only parameters the header may hold: Mastercard's clients send exactly these. Anything
# else (`limit="1"`) would be signed as if it were in the query and let a request's parameters
# move out of its URL, so it is refused rather than signed.
_ALLOWED = frozenset((*_REQUIRED, "realm"))
# RFC 5849 §3.5.1: name="value" pairs separated by commas, optional whitespace around them.
_PAIR = re.compile(r'\s*([A-Za-z0-9_]+)\s*=\s*"([^"]*)"\s*(?:,|\Z)')
# Bounded so int() never meets a huge digit string.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
# No value may carry one (PostgreSQL text cannot even hold NUL).
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}
_NONCE_ALPHABET = string.digits + string.ascii_letters
# Each UTF-8 byte (as a latin-1 character) to itself when unreserved, else to %XX: one
# str.translate in C instead of urllib's per-byte Python loop (the base string is built on every
# request).
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PERCENT = {b: chr(b) if chr(b) in _UNRESERVED else f"%{b:02X}" for b in range(256)}

_Pairs = list[tuple[str, str]]


@dataclass(frozen=True)
class OAuthParams:
    consumer_key: str
    nonce: str
    timestamp: int
    signature_method: str  # "RSA-SHA256" or "RSA-PSS"
    version: str  # "1.0"
    body_hash: str  # as sent (after percent-decoding)
    signature: bytes  # base64-decoded
    params: tuple[tuple[str, str], ...]  # decoded header params but oauth_signature, sorted


def percent_encode(text: str) -> str:
    """RFC 3986 encoding, uppercase hex; only A-Z a-z 0-9 - . _ ~ stay literal (as oauth1's).

    The same as `urllib.parse.quote(text, safe="~")`, character for character.
    """
    return text.encode("utf-8").decode("latin-1").translate(_PERCENT)


# --- Authorization header -------------------------------------------------------------------


def parse_authorization(header: str | None) -> OAuthParams:
    fields = _header_fields(header)
    for name in fields:
        if name not in _ALLOWED:
            raise ForeignAuthParameter(
                f"The Authorization header may hold only OAuth protocol parameters, not {name}."
            )
    for name, value in fields.items():
        # A decoded '&' signs exactly like the boundary between two parameters, so a header
        # value could carry a parameter signed for the query (`oauth_version="1.0%26status%3D…"`).
        # No Mastercard signer makes one: keys, nonces, digits and base64 have no '&'.
        if "&" in value and name != "realm":
            raise ForeignAuthParameter(f"OAuth parameter {name} may not contain '&'.")
    for name in _REQUIRED:
        if not fields.get(name):
            raise InvalidAuthHeader(f"Missing OAuth parameter: {name}.")
    for name in ("oauth_consumer_key", "oauth_nonce"):
        if len(fields[name]) > MAX_KEY_OR_NONCE_LENGTH:
            raise InvalidAuthHeader(f"{name} is longer than {MAX_KEY_OR_NONCE_LENGTH} characters.")
    if fields["oauth_signature_method"] not in _PADDINGS:
        raise InvalidAuthHeader("Unsupported oauth_signature_method; use RSA-SHA256 or RSA-PSS.")
    if fields["oauth_version"] != "1.0":
        raise InvalidAuthHeader("Unsupported oauth_version; use 1.0.")
    if not _TIMESTAMP.fullmatch(fields["oauth_timestamp"]):
        raise InvalidAuthHeader("oauth_timestamp must be an integer number of seconds.")
    # RFC 5849 §3.4.1.3.1: every header parameter but realm is signed; the signature is not.
    # Sorted, so the same header in any parameter order parses to an equal value.
    params = tuple(
        sorted((k, v) for k, v in fields.items() if k not in ("realm", "oauth_signature"))
    )
    return OAuthParams(
        consumer_key=fields["oauth_consumer_key"],
        nonce=fields["oauth_nonce"],
        timestamp=int(fields["oauth_timestamp"]),
        signature_method=fields["oauth_signature_method"],
        version=fields["oauth_version"],
        body_hash=fields["oauth_body_hash"],
        signature=_decode_signature(fields["oauth_signature"]),
        params=params,
    )


def check_query_apart(params: OAuthParams, query: str) -> None:
    """No parameter of the header may appear in the query too (RFC 5849 §3.4.1.3.1 would sign
    both, and Mastercard's gateway takes each from one place only).

    `oauth_signature` and `realm` are refused in the query whatever the header holds: the header
    always carries the signature, and OAuthParams does not record whether it carried a realm.
    """
    if not query or ("%" not in query and "oauth_" not in query and "realm" not in query):
        return  # no name in it can be one of those (all start oauth_ but realm)
    # Names as the routes read them (decoded, '+' a space), so `oauth%5Fnonce` is oauth_nonce.
    names = {unquote_plus(pair.partition("=")[0]) for pair in query.split("&") if pair}
    both = (names & {k for k, _ in params.params}) | (names & {"oauth_signature", "realm"})
    if both:
        raise ForeignAuthParameter(
            f"Parameter {sorted(both)[0]} is in both the Authorization header and the query."
        )


def _header_fields(header: str | None) -> dict[str, str]:
    if header is None or not header.strip():
        raise InvalidAuthHeader("Authorization header is missing.")
    if len(header) > MAX_HEADER_LENGTH:
        raise InvalidAuthHeader("Authorization header is too long.")
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "oauth":  # auth-scheme names are case-insensitive (RFC 7235 §2.1)
        raise InvalidAuthHeader("Authorization header must use the OAuth scheme.")
    rest = rest.strip()
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        match = _PAIR.match(rest, pos)
        if match is None:
            raise InvalidAuthHeader("Authorization header could not be parsed.")
        name = match.group(1)
        if name in fields:
            raise InvalidAuthHeader(f"Duplicate OAuth parameter: {name}.")
        # Python/Java/Node send values raw, C# percent-encodes them: unquote makes both the same.
        # Not form-decoding: a '+' in the body hash or signature must stay a '+'.
        fields[name] = unquote(match.group(2))
        if not printable(fields[name]):
            raise InvalidAuthHeader(f"Control character in OAuth parameter: {name}.")
        pos = match.end()
    if not fields:
        raise InvalidAuthHeader("Authorization header has no OAuth parameters.")
    return fields


def _decode_signature(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidAuthHeader("oauth_signature is not valid base64.") from None


# --- Body hash (draft-eaton-oauth-bodyhash, with SHA-256) ---------------------------------------


def compute_body_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def body_hash_matches(params: OAuthParams, body: bytes) -> bool:
    return hmac.compare_digest(params.body_hash.encode(), compute_body_hash(body).encode())


# --- Signature base string ----------------------------------------------------------------------


def base_uri(scheme: str, host: str, raw_path: str) -> str:
    """RFC 5849 §3.4.1.2; the path stays raw because clients sign it as they send it."""
    scheme, host = scheme.lower(), host.lower()
    default_port = _DEFAULT_PORTS.get(scheme)
    if default_port and host.endswith(default_port):
        host = host[: -len(default_port)]
    return f"{scheme}://{host}{raw_path or '/'}"


def base_string_candidates(method: str, uri: str, raw_query: str, params: OAuthParams) -> list[str]:
    """Every SBS a Mastercard signer may have produced for this request, most likely first.

    Each extra candidate widens slightly what one signature stands for (e.g. '+' versus '%2B');
    the nonce check bounds that, so keep the list short. Refuses (ForeignAuthParameter) a query
    that repeats a header parameter: each name is signed from one place, whoever calls this.
    """
    check_query_apart(params, raw_query)
    return list(_candidates(method, uri, raw_query, params))


def _candidates(method: str, uri: str, raw_query: str, params: OAuthParams) -> Iterator[str]:
    """The candidates of base_string_candidates, each built only when the one before it did
    not verify (the first almost always does), repeats skipped. The caller checks the query."""
    oauth = list(params.params)
    prefix = f"{method.upper()}&{percent_encode(uri)}&"
    first = prefix + percent_encode(_verbatim_params(raw_query, oauth))
    yield first
    second = prefix + percent_encode(_python_lib_params(raw_query, oauth))
    if second != first:
        yield second
    third = prefix + percent_encode(_java_params(raw_query, oauth))
    if third not in (first, second):
        yield third


def _base_string(method: str, uri: str, param_string: str) -> str:
    return f"{method.upper()}&{percent_encode(uri)}&{percent_encode(param_string)}"


def _raw_pairs(raw_query: str) -> _Pairs:
    pairs = []
    for field in raw_query.split("&"):
        if field:
            key, _, value = field.partition("=")
            pairs.append((key, value))
    return pairs


def _join_sorted(pairs: _Pairs) -> str:
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def _verbatim_params(raw_query: str, oauth: _Pairs) -> str:
    """Candidate A: the query as on the wire (the gateway's observed behaviour; Node's signer)."""
    return _join_sorted(_raw_pairs(raw_query) + oauth)


def _python_lib_params(raw_query: str, oauth: _Pairs) -> str:
    """Candidate B: oauth1-signer-python's normalize_params, rule for rule."""
    # Any %xx in the query: decode and re-encode everything ('%2a' -> '%2A', '+' -> '%20');
    # otherwise keep it literal, '+' included.
    must_encode = raw_query != unquote(raw_query)
    pairs = [
        (percent_encode(k), percent_encode(v))
        if must_encode
        else (k.replace(" ", "+"), v.replace(" ", "+"))
        for k, v in parse_qsl(raw_query, keep_blank_values=True)
    ]
    # Sorted as whole "k=v" strings, not by key then value (differs when a key prefixes another).
    return "&".join(sorted(f"{k}={v}" for k, v in [*pairs, *oauth]))


def _java_params(raw_query: str, oauth: _Pairs) -> str:
    """Candidate C: Java and C# signers; like B, but a literal '+' is data, hence '%2B'."""
    pairs = _raw_pairs(raw_query)
    if raw_query != unquote(raw_query):
        pairs = [(percent_encode(unquote(k)), percent_encode(unquote(v))) for k, v in pairs]
    return _join_sorted(pairs + oauth)


# --- Verify and sign ----------------------------------------------------------------------------


def matched_base_string(
    public_key: RSAPublicKey, method: str, uri: str, raw_query: str, params: OAuthParams
) -> str | None:
    """The candidate SBS the signature verifies against (worth logging), or None.

    Raises ForeignAuthParameter when the query repeats a header parameter.
    """
    scheme = _PADDINGS.get(params.signature_method)
    if scheme is None:
        return None
    check_query_apart(params, raw_query)
    for sbs in _candidates(method, uri, raw_query, params):
        try:
            public_key.verify(params.signature, sbs.encode("utf-8"), scheme, hashes.SHA256())
        except (InvalidSignature, ValueError):
            continue
        return sbs
    return None


def verify(
    public_key: RSAPublicKey, method: str, uri: str, raw_query: str, params: OAuthParams
) -> bool:
    return matched_base_string(public_key, method, uri, raw_query, params) is not None


def sign_request(
    private_key: RSAPrivateKey,
    consumer_key: str,
    method: str,
    url: str,
    body: bytes,
    *,
    nonce: str | None = None,
    timestamp: int | None = None,
    signature_method: str = RSA_SHA256,
) -> str:
    """An Authorization header value exactly as oauth1's OAuth.get_authorization_header makes it."""
    scheme = _PADDINGS.get(signature_method)
    if scheme is None:
        raise ValueError(f"Unsupported signature method: {signature_method}")
    oauth = [  # the library's parameter order, so headers compare equal
        ("oauth_consumer_key", consumer_key),
        ("oauth_nonce", nonce or "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(16))),
        ("oauth_timestamp", str(int(time.time()) if timestamp is None else timestamp)),
        ("oauth_signature_method", signature_method),
        ("oauth_version", "1.0"),
        ("oauth_body_hash", compute_body_hash(body)),
    ]
    parts = urlsplit(url)
    uri = base_uri(parts.scheme, parts.netloc, parts.path)
    sbs = _base_string(method, uri, _python_lib_params(parts.query, oauth))
    signature = private_key.sign(sbs.encode("utf-8"), scheme, hashes.SHA256())
    oauth.append(("oauth_signature", percent_encode(base64.b64encode(signature).decode("ascii"))))
    return "OAuth " + ",".join(f'{key}="{value}"' for key, value in oauth)
