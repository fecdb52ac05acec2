"""Mastercard OAuth 1.0a verification: signer-library vectors, malformed headers, round trips.

Vectors are copied from Mastercard's oauth1-signer libraries' tests, and from running
oauth1-signer-python with a patched nonce and timestamp, all signed with the libraries' public test
key (RSA 2048, certificate expired 2019: test data only, never a credential).
"""

from __future__ import annotations

import base64
import dataclasses
import re
import time
from urllib.parse import quote, urlsplit

import oauth1.coreutils
import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from oauth1.oauth import OAuth, SignatureMethod
from oauth1.oauth_ext import OAuth1RSA

from tfs.access.signing import (
    OAuthParams,
    base_string_candidates,
    base_uri,
    body_hash_matches,
    compute_body_hash,
    matched_base_string,
    parse_authorization,
    percent_encode,
    sign_request,
    verify,
)
from tfs.errors import ForeignAuthParameter, InvalidAuthHeader

# --- Vectors ------------------------------------------------------------------------------------

EMPTY_BODY_HASH = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
V63_HEADER_PREFIX = (
    'OAuth oauth_consumer_key="abc-abc-abc!123",oauth_nonce="Wpe3LF09z1e3xQRI",'
    'oauth_timestamp="1626728330",oauth_signature_method="RSA-SHA256",oauth_version="1.0",'
    f'oauth_body_hash="{EMPTY_BODY_HASH}",'
)
V64_1_BODY = b'{"programId":"ABC123","locale":"en-US"}'

MASTERCARD_TEST_PUBLIC_KEY = b"""\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmKHOVHuDCsRyEHkhEikI
iL9+NRBQ7XwJQLFz++JqHSbsJ0izn0pBTYCh+Mur0iolCuwcVNihcuxZESff73Hi
Zj/TA+m1j4E9loOIkkMYD7QBxFabPTGL5IVtJbdIcoQHBi1Ed5G+GI0pBn2vBMxv
xtoPv1SnS9Jp0oFoQp0gZ0dMUcFnHIHUUy5ttP4815Jhw/dgwUe5A4IgVKz1k3yx
w57FaCFLregQDyPN0yIx41RtSZ/CtKa2xnkFPQC8Gi9+qr6aWKZgqmgBhzjNn17B
DxTYRGcUKW8ltjOD7Vx540qpTTijdrZnRd41sJvYSmfcXmliZAZgZy3t7Tc9DnTt
KQIDAQAB
-----END PUBLIC KEY-----
"""

V63_1_URL = "https://api.mastercard.com/abc/%123/service?a=123&b=%2a2b3"

V63_1_SIGNATURE = (
    "GFdvCNe14%2FQdPi6KLgdFtYnqz9QVsqlzRwT1P5wvZCgyBzfTol69SRz4cIkeDx%2BIEeUfkbrPdVA9JPy0S9lg"
    "pMzs0KfIAX064Bz5mBbTni8NWD74ulN5eEDQRWB47BqEsvNPSJlJLGapVeYFyRlcIU7xMU1e1lA%2FtPTTHDSmIB"
    "fq4CtpCPvYMcd7ywoiHsi4hfI0d%2BTGS9pe0ez00mkne8C3%2FAHtuRIp564D02Hhl6s%2BTUGdUvlXTaFaIH9G"
    "VdZ15n%2FUcTCqSKFjorwA9guiJQlFpZtQy04BBD19VbN6%2F%2BSJvMAnVFQM5FJhgZ%2F5T9OP9%2BmjXz47Eh"
    "G9MAx3raBjIw%3D%3D"
)

V63_1_SBS = (
    "GET&https%3A%2F%2Fapi.mastercard.com%2Fabc%2F%25123%2Fservice&a%3D123%26b%3D%252A2b3%26o"
    "auth_body_hash%3D47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D%26oauth_consumer_k"
    "ey%3Dabc-abc-abc%21123%26oauth_nonce%3DWpe3LF09z1e3xQRI%26oauth_signature_method%3DRSA-S"
    "HA256%26oauth_timestamp%3D1626728330%26oauth_version%3D1.0"
)

V63_2_URL = "https://example.com/request?colon=%3A&plus=%2B&comma=%2C"

V63_2_SIGNATURE = (
    "BJGTHj7bxDWKRpES4KyLxrg0jTgk11b8RCdQzOMbY%2BQoltCaocwk3%2BI1MlYyX5oT8xMCKcjvH6EhF2J%2BMo"
    "jheBdomDuNqVlr7NvS0uRjbD1Iem%2Bo0RXMU%2Bag62XBMYnGdzhk3Nr1Ifwsb1seTND%2B%2Bf%2BDFjAWoD7U"
    "oY%2Fo2aWg1xbkXgKtykV1QIfKRsZfyJJUARUB6yhnMegryPURrGI8yAwoxGI37o0RsbCQdrnzIdpQYm6C5a9FPh"
    "PTqREAXEMpBVvY2e3Fk922IXiAd6Ph%2FLdIAOnIE8RRXmc5gYmzftl8jcztjG4EJNhD2jk6YVG5tt9yq%2Frcvb"
    "okgDnZ%2F7qPeg%3D%3D"
)

V63_2_SBS = (
    "GET&https%3A%2F%2Fexample.com%2Frequest&colon%3D%253A%26comma%3D%252C%26oauth_body_hash%"
    "3D47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D%26oauth_consumer_key%3Dabc-abc-ab"
    "c%21123%26oauth_nonce%3DWpe3LF09z1e3xQRI%26oauth_signature_method%3DRSA-SHA256%26oauth_t"
    "imestamp%3D1626728330%26oauth_version%3D1.0%26plus%3D%252B"
)

V63_3_URL = "https://example.com/?param=token1%3Atoken2"

V63_3_SIGNATURE = (
    "B473PPrHLU4KIJ5763HLGk6OR2Lo5FPXTXN72K5ihc4cZMYkfAUxAfANJUoKx5fHrcNPkGWeLkLdpqRLXfMNi39t"
    "B3WNOKZqYd0AgeAH9OkhFnJ0J%2FJ8oiXsaTcWK1tBm%2BPMtIFaAzA1MhILuns8p1GVPBOCK4ZAfdHMOf19TVV7"
    "uCO%2BwaeQgEmzNsGt6L6%2FgIRwpFnTwr9iEQCWju9LCxHpRDJIzA%2Fx4JT%2BRn5fOa3KyjPJkY70EPWmvMhd"
    "ciBVYNpv%2BjEjPmrQTNN0RZDYRPX%2Buj6ZRspAo%2BwHQDqAU3Fd1%2BD4lBEjY9fmK%2B3tz%2B9Ckhk%2FOf"
    "DvyIhSY4BtvsNoag%3D%3D"
)

V63_3_SBS = (
    "GET&https%3A%2F%2Fexample.com%2F&oauth_body_hash%3D47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5N"
    "MpJWZG3hSuFU%3D%26oauth_consumer_key%3Dabc-abc-abc%21123%26oauth_nonce%3DWpe3LF09z1e3xQR"
    "I%26oauth_signature_method%3DRSA-SHA256%26oauth_timestamp%3D1626728330%26oauth_version%3"
    "D1.0%26param%3Dtoken1%253Atoken2"
)

V63_4_URL = "https://example.com/?param=token1:token2"

V63_4_SIGNATURE = (
    "iD%2FTWBltcpIpyWJY7vDLaB2fjjEKVuBvhQje5OTOX0Cx6q%2BJnIEeRjkWxcmy4UclR2hn3zugQv9IIzPuQzOM"
    "nHZA%2FyS%2BZQRtY1pR2DgWSifTr0mkiIuVNB5zNcc1ZvFbjqY5I7u5%2Bd1tseEWchRLUbuUZDiQP7XVdfsjJp"
    "fynDi3qbU67naKXf7HWhR%2Fbg4AglVH8xxn0hUqyMs5uHk8pmx4%2BUGzgtzDT3vs5%2FZqUALZiElm9oq0DvWv"
    "Y5cgRVm%2FyCPvPBIz%2BD3e8RSKtbiZXCqzJF6zddvyUOOmp0nrso065LsvG6PLR2DYjE62XIFXy1urqiMUoHu2"
    "f52YpEzCGg%3D%3D"
)

V63_4_SBS = (
    "GET&https%3A%2F%2Fexample.com%2F&oauth_body_hash%3D47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5N"
    "MpJWZG3hSuFU%3D%26oauth_consumer_key%3Dabc-abc-abc%21123%26oauth_nonce%3DWpe3LF09z1e3xQR"
    "I%26oauth_signature_method%3DRSA-SHA256%26oauth_timestamp%3D1626728330%26oauth_version%3"
    "D1.0%26param%3Dtoken1%3Atoken2"
)

V63_5_URL = "https://sandbox.api.mastercard.com?param1=plus+value&param2=colon:value"

V63_5_SIGNATURE = (
    "BSbz5UAdn1iRFpFCs0y6U4HhBCm4gR56690cYyGVvkYoqcYB4PsMrurMu8aojktsKmgz0oYM77YylUJMVlbWclwW"
    "2I1hexLfErvGWA91AsJT557g6kbV9ON8daDy1u33LezMjTrrmErSb%2BMtgLQ5NE8pAwo4tPDBx33rjckZ7SPewr"
    "ZS63EQAkc6wjt%2BnWhzkRU8%2Fuze0cLUemaVExHSwUULV38OXxOxOa3VBrBi2p%2FyEFqKgTWXJmNlZ2nzHsZV"
    "cwE2TNJdZjLP0bHn2tg3MRi112u51Tag5bT4RrkwkCg6gcGc9Pn6gxIgH%2FFWBCbjgdBnR0plo3Z9SX3uQcDrvw"
    "%3D%3D"
)

V63_5_SBS = (
    "GET&https%3A%2F%2Fsandbox.api.mastercard.com%2F&oauth_body_hash%3D47DEQpj8HBSa%2B%2FTImW"
    "%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D%26oauth_consumer_key%3Dabc-abc-abc%21123%26oauth_nonce%3D"
    "Wpe3LF09z1e3xQRI%26oauth_signature_method%3DRSA-SHA256%26oauth_timestamp%3D1626728330%26"
    "oauth_version%3D1.0%26param1%3Dplus%2Bvalue%26param2%3Dcolon%3Avalue"
)

V64_1_URL = "https://sandbox.api.mastercard.com/loyalty/rewards/catalogs/search?offset=0&limit=25"

V64_1_HEADER = (
    'OAuth oauth_consumer_key="sample-consumer-key!abcdef0123456789",oauth_nonce="nonce012345'
    '6789A",oauth_timestamp="1700000000",oauth_signature_method="RSA-SHA256",oauth_version="1'
    '.0",oauth_body_hash="vU52duPkKditDyWbQD57xhhDWdFMYgZNByJQKYGBQvM=",oauth_signature="bOV6'
    "%2FlfdcbvxsfM4V%2B95lJKmsRUkxkDELpw6PJKpc1S7Xw6wmnI7k%2BqQJnbL5GVFiRG4no2L0CxObmAQj2eNfs"
    "YXDLqexLb1h%2BQeRZHo54E0h39vaU%2FO4BIZSpjIC2uCIRuhzQahYvPWYj9udpiQyqid0ftRq2jVwc5iko27l2"
    "ClNtoLUqXFZnLZ9a0uy0yDZ%2BQGTHYllbkeJ30puU%2BEd8lQtGtKYxcFSWKdxb8pQ%2FShNXMDD2JVNVFLmKW0"
    "7DryedxoP6I6DFU9ZmD0B7STk7EmLrjA7RTn6uCIhE6ceR%2BpPNMVnWUFhPnfo%2BLvUdqSEJwPxi4YYsEA9BX0"
    'TWg3nw%3D%3D"'
)

V64_1_SBS = (
    "POST&https%3A%2F%2Fsandbox.api.mastercard.com%2Floyalty%2Frewards%2Fcatalogs%2Fsearch&li"
    "mit%3D25%26oauth_body_hash%3DvU52duPkKditDyWbQD57xhhDWdFMYgZNByJQKYGBQvM%3D%26oauth_cons"
    "umer_key%3Dsample-consumer-key%21abcdef0123456789%26oauth_nonce%3Dnonce0123456789A%26oau"
    "th_signature_method%3DRSA-SHA256%26oauth_timestamp%3D1700000000%26oauth_version%3D1.0%26"
    "offset%3D0"
)

V64_2_URL = (
    "https://sandbox.api.mastercard.com/loyalty/rewards/catalogs?programId=ABC%20123&limit=10"
)

V64_2_HEADER = (
    'OAuth oauth_consumer_key="sample-consumer-key!abcdef0123456789",oauth_nonce="nonce012345'
    '6789A",oauth_timestamp="1700000000",oauth_signature_method="RSA-SHA256",oauth_version="1'
    '.0",oauth_body_hash="47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",oauth_signature="P8dV'
    "%2BYYFYStkh1wVzhUDUhhhUv78%2FoaLmzMc%2FVSs%2Ff5zVnb4baTPu%2FIRE%2FNyne%2BtJjZnpboLA82tCD"
    "dh58oLV5bPJOJ4SffowaAibJfQQE6KN6ojzO%2BKNyp%2FqBGJfJclKQpSSCmKBtO6VNc6rZ5EwIS8E3E6hV%2Bs"
    "CqKEp2CykjUzCTOsG5m7DyUt7wXxuMh5yA2CUh4a4wUQcON0IuHVf8AeB1aMTNeTTQ6JI4Z5b9SbIEEgTAiACXwW"
    "NbXjb4NEnbLEHH74f1CsBmX0rIg3tuS7YuBLeyegov%2F9vkvr551x%2FC4A%2F8nSZZeZcLWzxPY%2FmPkfFtlw"
    '8h8ceUbkwtMVNQ%3D%3D"'
)

V64_2_SBS = (
    "GET&https%3A%2F%2Fsandbox.api.mastercard.com%2Floyalty%2Frewards%2Fcatalogs&limit%3D10%2"
    "6oauth_body_hash%3D47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D%26oauth_consumer"
    "_key%3Dsample-consumer-key%21abcdef0123456789%26oauth_nonce%3Dnonce0123456789A%26oauth_s"
    "ignature_method%3DRSA-SHA256%26oauth_timestamp%3D1700000000%26oauth_version%3D1.0%26prog"
    "ramId%3DABC%2520123"
)

TERMINATION_INQUIRY_XML = (
    '<?xml version="1.0" encoding="Windows-1252"?><ns2:TerminationInquiryRequest xmlns:ns2="h'
    'ttp://mastercard.com/termination"><AcquirerId>1996</AcquirerId><TransactionReferenceNumb'
    "er>1</TransactionReferenceNumber><Merchant><Name>TEST</Name><DoingBusinessAsName>TEST</D"
    "oingBusinessAsName><PhoneNumber>5555555555</PhoneNumber><NationalTaxId>1234567890</Natio"
    "nalTaxId><Address><Line1>5555 Test Lane</Line1><City>TEST</City><CountrySubdivision>XX</"
    "CountrySubdivision><PostalCode>12345</PostalCode><Country>USA</Country></Address><Princi"
    "pal><FirstName>John</FirstName><LastName>Smith</LastName><NationalId>1234567890</Nationa"
    "lId><PhoneNumber>5555555555</PhoneNumber><Address><Line1>5555 Test Lane</Line1><City>TES"
    "T</City><CountrySubdivision>XX</CountrySubdivision><PostalCode>12345</PostalCode><Countr"
    "y>USA</Country></Address><DriversLicense><Number>1234567890</Number><CountrySubdivision>"
    "XX</CountrySubdivision></DriversLicense></Principal></Merchant></ns2:TerminationInquiryR"
    "equest>"
)

TERMINATION_INQUIRY_SBS = (
    "POST&https%3A%2F%2Fsandbox.api.mastercard.com%2Ffraud%2Fmerchant%2Fv1%2Ftermination-inqu"
    "iry&Format%3DXML%26PageLength%3D10%26PageOffset%3D0%26oauth_body_hash%3Dh2Pd7zlzEZjZVIKB"
    "4j94UZn%2FxxoR3RoCjYQ9%2FJdadGQ%3D%26oauth_consumer_key%3Dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxx%26oauth_nonce%3D1111111111111111111%26oauth_timestamp%3D1111111111%26"
    "oauth_version%3D1.0"
)

# §6.3: GET, no body; the header is the prefix plus the signature.
V63 = [
    (V63_1_URL, V63_1_SIGNATURE, V63_1_SBS),
    (V63_2_URL, V63_2_SIGNATURE, V63_2_SBS),
    (V63_3_URL, V63_3_SIGNATURE, V63_3_SBS),
    (V63_4_URL, V63_4_SIGNATURE, V63_4_SBS),
    (V63_5_URL, V63_5_SIGNATURE, V63_5_SBS),
]
# (method, url, header, sbs) for every signed vector.
SIGNED_VECTORS = [
    pytest.param("GET", url, f'{V63_HEADER_PREFIX}oauth_signature="{sig}"', sbs, id=f"6.3-{i}")
    for i, (url, sig, sbs) in enumerate(V63, 1)
] + [
    pytest.param("POST", V64_1_URL, V64_1_HEADER, V64_1_SBS, id="6.4-1"),
    pytest.param("GET", V64_2_URL, V64_2_HEADER, V64_2_SBS, id="6.4-2"),
]

NONCE = "nonce0123456789A"
TIMESTAMP = 1700000000
CONSUMER_KEY = "sample-consumer-key!abcdef0123456789"


@pytest.fixture(scope="module")
def test_public_key() -> rsa.RSAPublicKey:
    key = load_pem_public_key(MASTERCARD_TEST_PUBLIC_KEY)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def fixed_nonce_and_timestamp(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauth.py calls util.get_nonce() / util.get_timestamp() through the coreutils module.
    monkeypatch.setattr(oauth1.coreutils, "get_nonce", lambda: NONCE)
    monkeypatch.setattr(oauth1.coreutils, "get_timestamp", lambda: TIMESTAMP)


def split(url: str) -> tuple[str, str]:
    """(base URI, raw query) of a URL, as the server sees them."""
    parts = urlsplit(url)
    return base_uri(parts.scheme, parts.netloc, parts.path), parts.query


def candidates_for(method: str, url: str, params: OAuthParams) -> list[str]:
    uri, query = split(url)
    return base_string_candidates(method, uri, query, params)


def verifies(public_key: rsa.RSAPublicKey, method: str, url: str, header: str) -> bool:
    uri, query = split(url)
    return verify(public_key, method, uri, query, parse_authorization(header))


def unsigned(params: list[tuple[str, str]]) -> OAuthParams:
    """OAuthParams carrying only the parameters that go into the base string."""
    return OAuthParams("ck", "n", 0, "RSA-SHA256", "1.0", EMPTY_BODY_HASH, b"", tuple(params))


def sbs(method: str, uri: str, param_string: str) -> str:
    return f"{method}&{percent_encode(uri)}&{percent_encode(param_string)}"


def rfc_strict_sbs(method: str, url: str, params: OAuthParams) -> str:
    """RFC 5849 §3.4.1.3.2: every name and value encoded before joining (what oauthlib builds)."""
    uri, query = split(url)
    pairs = [p.split("=", 1) for p in query.split("&")] + [list(p) for p in params.params]
    joined = "&".join(sorted(f"{percent_encode(k)}={percent_encode(v)}" for k, v in pairs))
    return sbs(method, uri, joined)


def with_header_param(header: str, name: str, value: str | None) -> str:
    """The header with one parameter replaced (value None: removed)."""
    pattern = re.compile(rf',?{name}="[^"]*"')
    if value is None:
        return pattern.sub("", header).replace("OAuth ,", "OAuth ")
    return pattern.sub(lambda m: m.group(0).split("=")[0] + f'="{value}"', header)


# --- percent_encode, base_uri, parameter normalisation (§3.1) ----------------------------------


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("%25£¥a/El Niño/%", "%2525%C2%A3%C2%A5a%2FEl%20Ni%C3%B1o%2F%25"),
        ("WhqqH+TU95VgZ~Itpdq78BWb4cE=&o", "WhqqH%2BTU95VgZ~Itpdq78BWb4cE%3D%26o"),
        ("", ""),
        ("AZaz09-._~*", "AZaz09-._~%2A"),
        (
            f"oauth_body_hash={EMPTY_BODY_HASH}&oauth_consumer_key=abc-abc-abc!123"
            "&oauth_nonce=Wpe3LF09z1e3xQRI&oauth_signature_method=RSA-SHA256"
            "&oauth_timestamp=1626728330&oauth_version=1.0&param=token1:token2",
            "oauth_body_hash%3D47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D"
            "%26oauth_consumer_key%3Dabc-abc-abc%21123%26oauth_nonce%3DWpe3LF09z1e3xQRI"
            "%26oauth_signature_method%3DRSA-SHA256%26oauth_timestamp%3D1626728330"
            "%26oauth_version%3D1.0%26param%3Dtoken1%3Atoken2",
        ),
    ],
)
def test_percent_encode_keeps_only_unreserved_characters_with_uppercase_hex(
    text: str, encoded: str
) -> None:
    assert percent_encode(text) == encoded


def test_percent_encode_is_quote_with_only_tilde_safe_for_every_character() -> None:
    # Every code point but the surrogates (which no decoded header, path or query holds): the
    # translate table must encode exactly as urllib's quote, which the signer libraries use.
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert percent_encode(text) == quote(text, safe="~")
    with pytest.raises(UnicodeEncodeError):  # as quote would
        percent_encode("\ud800")


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("https://www.example.net:8080", "https://www.example.net:8080/"),
        ("http://EXAMPLE.COM:80/r%20v/X?id=123", "http://example.com/r%20v/X"),
        ("https://api.mastercard.com:443/test?query=param", "https://api.mastercard.com/test"),
        ("http://api.mastercard.com:80/test", "http://api.mastercard.com/test"),
        (
            "https://api.mastercard.com:17443/test?query=param",
            "https://api.mastercard.com:17443/test",
        ),
        ("https://api.mastercard.com/test?query=param#fragment", "https://api.mastercard.com/test"),
        ("https://api.mastercard.com", "https://api.mastercard.com/"),
        ("HTTPS://API.MASTERCARD.COM/TEST", "https://api.mastercard.com/TEST"),
    ],
)
def test_base_uri_normalises_like_the_signers_normalize_url(url: str, normalized: str) -> None:
    assert split(url)[0] == normalized


def test_base_uri_lowercases_scheme_and_host_and_drops_only_the_scheme_default_port() -> None:
    assert base_uri("HTTP", "Example.COM:80", "") == "http://example.com/"
    assert base_uri("HTTPS", "Example.COM:443", "/A") == "https://example.com/A"
    assert base_uri("https", "example.com:80", "/a") == "https://example.com:80/a"
    assert base_uri("http", "example.com:443", "/a") == "http://example.com:443/a"


def test_base_uri_keeps_the_raw_path_undecoded() -> None:
    raw_path = "/abc/%123/a%40b/%2540/@&(=/service"
    assert base_uri("https", "api.mastercard.com", raw_path) == (
        "https://api.mastercard.com" + raw_path
    )


@pytest.mark.parametrize(
    ("query", "oauth", "param_string"),
    [
        ("offset=0&offset=1&length=10&empty&odd=", [], "empty=&length=10&odd=&offset=0&offset=1"),
        (
            "param1=plus+value&param2=colon:value",
            [],
            "param1=plus+value&param2=colon:value",
        ),
        (
            "b5=%3D%253D&a3=a&a3=2%20q&c%40=&a2=r%20b&c2=",
            [],
            "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=",
        ),
        ("b=b&A=a&A=A&B=B&a=A&a=a&0=0", [], "0=0&A=A&A=a&B=B&a=A&a=a&b=b"),
        (
            "",
            [
                ("oauth_consumer_key", "9djdj82h48djs9d2"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131201"),
                ("oauth_nonce", "7d8f3e4a"),
            ],
            "oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a"
            "&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201",
        ),
        ("", [], ""),
    ],
)
def test_parameter_string_matches_the_python_signers_normalize_params(
    query: str, oauth: list[tuple[str, str]], param_string: str
) -> None:
    uri = "https://api.mastercard.com/"
    candidates = base_string_candidates("GET", uri, query, unsigned(oauth))
    assert sbs("GET", uri, param_string) in candidates


# --- Full base strings (§3.1, §6.3, §6.4) ------------------------------------------------------


def test_simple_post_base_string_is_a_candidate() -> None:
    params = unsigned([("oauth_body_hash", "body/hash"), ("oauth_nonce", "randomnonce")])
    expected = (
        "POST&https%3A%2F%2Fapi.mastercard.com%2F"
        "&oauth_body_hash%3Dbody%2Fhash%26oauth_nonce%3Drandomnonce"
    )
    assert expected in candidates_for("post", "https://api.mastercard.com/", params)


def test_repeated_query_keys_base_string_is_a_candidate() -> None:
    params = unsigned([("oauth_body_hash", "body/hash"), ("oauth_nonce", "randomnonce")])
    expected = (
        "POST&https%3A%2F%2Fapi.mastercard.com&first_param%3Dothervalue%26first_param%3Dvalue"
        "%26oauth_body_hash%3Dbody%2Fhash%26oauth_nonce%3Drandomnonce%26param2%3Dhello"
    )
    # The Java test passes its base URI without the trailing '/'.
    query = "first_param=value&first_param=othervalue&param2=hello"
    assert expected in base_string_candidates("POST", "https://api.mastercard.com", query, params)


def test_termination_inquiry_base_string_is_a_candidate() -> None:
    oauth = [
        ("oauth_body_hash", compute_body_hash(TERMINATION_INQUIRY_XML.encode())),
        ("oauth_consumer_key", "x" * 48),
        ("oauth_nonce", "1111111111111111111"),
        ("oauth_timestamp", "1111111111"),
        ("oauth_version", "1.0"),
    ]
    url = (
        "https://sandbox.api.mastercard.com/fraud/merchant/v1/termination-inquiry"
        "?Format=XML&PageOffset=0&PageLength=10"
    )
    assert TERMINATION_INQUIRY_SBS in candidates_for("POST", url, unsigned(oauth))
    # Java asserts the same string with the signature method in its sorted place.
    java_sbs = TERMINATION_INQUIRY_SBS.replace(
        "%26oauth_timestamp", "%26oauth_signature_method%3DRSA-SHA256%26oauth_timestamp"
    )
    with_method = unsigned([*oauth, ("oauth_signature_method", "RSA-SHA256")])
    assert java_sbs in candidates_for("POST", url, with_method)


@pytest.mark.parametrize(("method", "url", "header", "expected_sbs"), SIGNED_VECTORS)
def test_signer_vector_base_string_is_a_candidate(
    method: str, url: str, header: str, expected_sbs: str
) -> None:
    assert expected_sbs in candidates_for(method, url, parse_authorization(header))


@pytest.mark.parametrize(("method", "url", "header", "expected_sbs"), SIGNED_VECTORS)
def test_signer_vector_verifies_with_the_mastercard_test_key(
    test_public_key: rsa.RSAPublicKey, method: str, url: str, header: str, expected_sbs: str
) -> None:
    uri, query = split(url)
    params = parse_authorization(header)
    assert verify(test_public_key, method, uri, query, params)
    assert matched_base_string(test_public_key, method, uri, query, params) == expected_sbs


def test_lowercase_escape_in_query_needs_the_python_library_candidate(
    test_public_key: rsa.RSAPublicKey,
) -> None:
    # §6.3 #1: the Python signer decodes b=%2a2b3 and re-encodes it as %2A; the wire has %2a.
    params = parse_authorization(f'{V63_HEADER_PREFIX}oauth_signature="{V63_1_SIGNATURE}"')
    candidates = candidates_for("GET", V63_1_URL, params)
    assert candidates[0] != V63_1_SBS
    assert V63_1_SBS in candidates[1:]


def test_rfc_strict_base_string_does_not_verify(test_public_key: rsa.RSAPublicKey) -> None:
    params = parse_authorization(V64_1_HEADER)
    strict = rfc_strict_sbs("POST", V64_1_URL, params)
    assert "QvM%253D" in strict
    assert "%2521" in strict
    assert strict not in candidates_for("POST", V64_1_URL, params)
    with pytest.raises(InvalidSignature):
        test_public_key.verify(
            params.signature, strict.encode(), padding.PKCS1v15(), hashes.SHA256()
        )


def test_tampered_signature_does_not_verify(test_public_key: rsa.RSAPublicKey) -> None:
    params = parse_authorization(V64_1_HEADER)
    flipped = bytes([params.signature[0] ^ 1]) + params.signature[1:]
    uri, query = split(V64_1_URL)
    assert not verify(
        test_public_key, "POST", uri, query, dataclasses.replace(params, signature=flipped)
    )


def test_truncated_signature_is_rejected_without_raising(test_public_key: rsa.RSAPublicKey) -> None:
    params = dataclasses.replace(parse_authorization(V64_1_HEADER), signature=b"short")
    uri, query = split(V64_1_URL)
    assert not verify(test_public_key, "POST", uri, query, params)


def test_tampered_query_does_not_verify(test_public_key: rsa.RSAPublicKey) -> None:
    url = V64_1_URL.replace("limit=25", "limit=26")
    assert not verifies(test_public_key, "POST", url, V64_1_HEADER)


def test_extra_query_parameter_does_not_verify(test_public_key: rsa.RSAPublicKey) -> None:
    assert not verifies(test_public_key, "POST", V64_1_URL + "&admin=1", V64_1_HEADER)


def test_tampered_method_does_not_verify(test_public_key: rsa.RSAPublicKey) -> None:
    assert not verifies(test_public_key, "PUT", V64_1_URL, V64_1_HEADER)


def test_tampered_path_does_not_verify(test_public_key: rsa.RSAPublicKey) -> None:
    url = V64_1_URL.replace("/search", "/Search")
    assert not verifies(test_public_key, "POST", url, V64_1_HEADER)


def test_tampered_oauth_parameter_does_not_verify(test_public_key: rsa.RSAPublicKey) -> None:
    header = with_header_param(V64_1_HEADER, "oauth_nonce", "nonce0123456789B")
    assert not verifies(test_public_key, "POST", V64_1_URL, header)


def test_other_key_does_not_verify(private_key: rsa.RSAPrivateKey) -> None:
    assert not verifies(private_key.public_key(), "POST", V64_1_URL, V64_1_HEADER)


def test_unknown_signature_method_on_params_does_not_verify(
    test_public_key: rsa.RSAPublicKey,
) -> None:
    params = dataclasses.replace(parse_authorization(V64_1_HEADER), signature_method="RSA-SHA1")
    uri, query = split(V64_1_URL)
    assert not verify(test_public_key, "POST", uri, query, params)


# --- parse_authorization ------------------------------------------------------------------------


def test_parse_reads_every_parameter_of_a_python_signer_header() -> None:
    params = parse_authorization(V64_1_HEADER)
    assert params.consumer_key == CONSUMER_KEY
    assert params.nonce == NONCE
    assert params.timestamp == TIMESTAMP
    assert params.signature_method == "RSA-SHA256"
    assert params.version == "1.0"
    assert params.body_hash == "vU52duPkKditDyWbQD57xhhDWdFMYgZNByJQKYGBQvM="
    assert len(params.signature) == 256
    assert dict(params.params) == {
        "oauth_consumer_key": CONSUMER_KEY,
        "oauth_nonce": NONCE,
        "oauth_timestamp": str(TIMESTAMP),
        "oauth_signature_method": "RSA-SHA256",
        "oauth_version": "1.0",
        "oauth_body_hash": "vU52duPkKditDyWbQD57xhhDWdFMYgZNByJQKYGBQvM=",
    }


def test_parse_keeps_plus_in_values_literal() -> None:
    params = parse_authorization(f'{V63_HEADER_PREFIX}oauth_signature="{V63_1_SIGNATURE}"')
    assert params.body_hash == EMPTY_BODY_HASH


def test_csharp_style_encoded_header_parses_like_the_raw_one(
    test_public_key: rsa.RSAPublicKey,
) -> None:
    # The C# signer percent-encodes every value ('!' -> %21, '+' -> %2B, '=' -> %3D).
    encoded = re.sub(
        r'(oauth_\w+)="([^"]*)"',
        lambda m: (
            f'{m.group(1)}="{quote(m.group(2), safe="%")}"'
            if m.group(1) == "oauth_signature"
            else f'{m.group(1)}="{quote(m.group(2), safe="")}"'
        ),
        V64_1_HEADER,
    )
    assert "%21" in encoded
    assert "%3D" in encoded
    assert parse_authorization(encoded) == parse_authorization(V64_1_HEADER)
    assert verifies(test_public_key, "POST", V64_1_URL, encoded)


def test_parse_tolerates_whitespace_any_order_and_a_realm() -> None:
    pairs = re.findall(r'\w+="[^"]*"', V64_1_HEADER)
    shuffled = "OAuth  " + " ,  ".join(['realm="Example"', *reversed(pairs)]) + "  "
    params = parse_authorization(shuffled)
    assert params == parse_authorization(V64_1_HEADER)
    assert "realm" not in dict(params.params)


def test_parse_accepts_the_scheme_name_in_any_case() -> None:
    lower = "oauth " + V64_1_HEADER.removeprefix("OAuth ")
    assert parse_authorization(lower) == parse_authorization(V64_1_HEADER)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_parse_rejects_a_missing_header(header: str | None) -> None:
    with pytest.raises(InvalidAuthHeader, match="missing"):
        parse_authorization(header)


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer abc", 'OAuth2 a="b"'])
def test_parse_rejects_another_scheme(header: str) -> None:
    with pytest.raises(InvalidAuthHeader, match="OAuth scheme"):
        parse_authorization(header)


@pytest.mark.parametrize(
    "rest",
    [
        "garbage",
        'oauth_nonce=abc,oauth_version="1.0"',
        'oauth_nonce="abc" oauth_version="1.0"',
        'oauth_nonce="abc",,oauth_version="1.0"',
        'oauth_nonce="a"b",oauth_version="1.0"',
        'oauth-nonce="abc"',
        'oauth_nonce="abc',
    ],
)
def test_parse_rejects_an_unparsable_header(rest: str) -> None:
    with pytest.raises(InvalidAuthHeader, match="could not be parsed"):
        parse_authorization("OAuth " + rest)


def test_parse_rejects_a_header_without_parameters() -> None:
    with pytest.raises(InvalidAuthHeader, match="no OAuth parameters"):
        parse_authorization("OAuth ")


def test_parse_rejects_a_duplicate_parameter() -> None:
    header = V64_1_HEADER + f',oauth_nonce="{NONCE}"'
    with pytest.raises(InvalidAuthHeader, match="Duplicate OAuth parameter: oauth_nonce"):
        parse_authorization(header)


@pytest.mark.parametrize(
    "name",
    [
        "oauth_consumer_key",
        "oauth_nonce",
        "oauth_timestamp",
        "oauth_signature_method",
        "oauth_version",
        "oauth_body_hash",
        "oauth_signature",
    ],
)
@pytest.mark.parametrize("value", [None, ""])
def test_parse_names_a_missing_or_empty_required_parameter(name: str, value: str | None) -> None:
    with pytest.raises(InvalidAuthHeader, match=f"Missing OAuth parameter: {name}"):
        parse_authorization(with_header_param(V64_1_HEADER, name, value))


@pytest.mark.parametrize("method", ["HMAC-SHA1", "RSA-SHA1", "PLAINTEXT", "rsa-sha256"])
def test_parse_rejects_an_unsupported_signature_method(method: str) -> None:
    with pytest.raises(InvalidAuthHeader, match="oauth_signature_method"):
        parse_authorization(with_header_param(V64_1_HEADER, "oauth_signature_method", method))


@pytest.mark.parametrize("version", ["2.0", "1", "1.0a"])
def test_parse_rejects_a_version_other_than_1_0(version: str) -> None:
    with pytest.raises(InvalidAuthHeader, match="oauth_version"):
        parse_authorization(with_header_param(V64_1_HEADER, "oauth_version", version))


@pytest.mark.parametrize("timestamp", ["abc", "-1", "1.5", "1e9", " 1", "+1", "1" * 16])
def test_parse_rejects_a_non_integer_timestamp(timestamp: str) -> None:
    with pytest.raises(InvalidAuthHeader, match="oauth_timestamp"):
        parse_authorization(with_header_param(V64_1_HEADER, "oauth_timestamp", timestamp))


@pytest.mark.parametrize("signature", ["not base64!", "abc", "YWJj%20ZA%3D%3D", "YWJj ZA=="])
def test_parse_rejects_a_signature_that_is_not_base64(signature: str) -> None:
    with pytest.raises(InvalidAuthHeader, match="base64"):
        parse_authorization(with_header_param(V64_1_HEADER, "oauth_signature", signature))


def test_parse_rejects_an_oversized_header() -> None:
    header = V64_1_HEADER + ',x="' + "a" * 8192 + '"'
    with pytest.raises(InvalidAuthHeader, match="too long"):
        parse_authorization(header)


# --- Parameters stay where they were signed -----------------------------------------------------


def test_a_signed_query_parameter_moved_into_the_header_is_refused(
    test_public_key: rsa.RSAPublicKey,
) -> None:
    # RFC 5849 signs header and query parameters alike, so `limit="10"` in the header gives the
    # base string of `?limit=10`: the vector still verifies, but the route would not see limit.
    uri, query = split(V64_2_URL)
    assert verify(test_public_key, "GET", uri, query, parse_authorization(V64_2_HEADER))
    moved = query.replace("&limit=10", "")
    with pytest.raises(ForeignAuthParameter, match="not limit"):
        parse_authorization(V64_2_HEADER + ',limit="10"')
    assert not verify(test_public_key, "GET", uri, moved, parse_authorization(V64_2_HEADER))


@pytest.mark.parametrize(
    "extra", ['foo="1"', 'oauth_token="t"', 'oauth_callback="oob"', 'OAUTH_NONCE="x"']
)
def test_parse_refuses_any_parameter_but_the_protocol_ones(extra: str) -> None:
    name = extra.partition("=")[0]
    with pytest.raises(ForeignAuthParameter, match=f"not {name}"):
        parse_authorization(f"{V64_1_HEADER},{extra}")


@pytest.mark.parametrize(
    ("name", "value"),
    [("oauth_version", "1.0%26status%3DCancelled"), ("oauth_nonce", "a%26limit%3D1")],
)
def test_parse_refuses_an_ampersand_that_would_sign_as_a_parameter_boundary(
    name: str, value: str
) -> None:
    with pytest.raises(ForeignAuthParameter, match=f"{name} may not contain '&'"):
        parse_authorization(with_header_param(V64_1_HEADER, name, value))


def test_parse_ignores_an_ampersand_in_the_realm_which_is_not_signed() -> None:
    params = parse_authorization(V64_1_HEADER + ',realm="a%26b"')
    assert params == parse_authorization(V64_1_HEADER)


@pytest.mark.parametrize(
    "repeated",
    [
        "oauth_nonce=nonce0123456789A",
        "oauth%5Fnonce=x",
        "oauth_body_hash",
        "oauth_signature=x",
        "realm=x",
    ],
)
def test_a_query_repeating_a_header_parameter_is_refused_by_the_base_string(
    test_public_key: rsa.RSAPublicKey, repeated: str
) -> None:
    uri, query = split(V64_2_URL)
    params = parse_authorization(V64_2_HEADER)
    with pytest.raises(ForeignAuthParameter, match="both the Authorization header and the query"):
        base_string_candidates("GET", uri, f"{query}&{repeated}", params)
    with pytest.raises(ForeignAuthParameter):
        verify(test_public_key, "GET", uri, f"{repeated}&{query}", params)


# --- Body hash (§4) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "body_hash"),
    [
        (b"", EMPTY_BODY_HASH),
        (b"{}", "RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o="),
        ('{"foõ":"bar"}'.encode(), "+Z+PWW2TJDnPvRcTgol+nKO3LT7xm8smnsg+//XMIyI="),
        (b"{'A' : 'sensitive data'}", "sKrMRMpmhyMJ05fETctDp3UnlDsm1rgOJxQroerFuMs="),
        (b'{"A" : OAuthExtTest.data}', "9MoCOjWt0ke+o8ZAGij+kZ1goHpfzLIG9ZGty05eIOo="),
        (b"payload", "I59Z7VXnN8dxR89VrQwbAwttfudIp0JpUvm4UtWpNeU="),
        (b"Hello World!", "f4OxZX/x/FO5LcGBSKHWXfwtSx+j1ncoSt3SABJtkGk="),
        (TERMINATION_INQUIRY_XML.encode(), "h2Pd7zlzEZjZVIKB4j94UZn/xxoR3RoCjYQ9/JdadGQ="),
        (V64_1_BODY, "vU52duPkKditDyWbQD57xhhDWdFMYgZNByJQKYGBQvM="),
    ],
)
def test_body_hash_is_base64_sha256_of_the_exact_bytes(body: bytes, body_hash: str) -> None:
    assert compute_body_hash(body) == body_hash


def test_body_hash_matches_only_the_signed_body() -> None:
    params = parse_authorization(V64_1_HEADER)
    assert body_hash_matches(params, V64_1_BODY)
    assert not body_hash_matches(params, V64_1_BODY + b" ")
    assert not body_hash_matches(params, b"")


# --- Round trips with Mastercard's own library ---------------------------------------------------

ROUND_TRIP_URL = (
    "https://sandbox.api.mastercard.com/loyalty/rewards/orders/status"
    "?vendorId=V%2B1&note=caf%C3%A9&tag=a:b&flag&list=2&list=1"
)
ROUND_TRIP_BODY = b'[{"mcOrderId": "MC-1", "status": "SHIPPED", "note": "caf\\u00e9 + more"}]'


@pytest.mark.parametrize(
    "method", [SignatureMethod.RSA_SHA256, SignatureMethod.RSA_PSS_SHA256], ids=["sha256", "pss"]
)
def test_oauth1rsa_signed_prepared_request_verifies(
    private_key: rsa.RSAPrivateKey, method: SignatureMethod
) -> None:
    prepared = requests.Request(
        "POST",
        ROUND_TRIP_URL,
        data=ROUND_TRIP_BODY,
        headers={"Content-Type": "application/json"},
        auth=OAuth1RSA(CONSUMER_KEY, private_key, signature_method=method),
    ).prepare()
    assert prepared.url is not None
    assert isinstance(prepared.body, bytes)
    params = parse_authorization(prepared.headers["Authorization"])
    assert params.signature_method == method.value
    assert verifies(
        private_key.public_key(), "POST", prepared.url, prepared.headers["Authorization"]
    )
    assert body_hash_matches(params, prepared.body)
    assert not body_hash_matches(params, prepared.body.replace(b"SHIPPED", b"SHIPPEX"))


@pytest.mark.parametrize(
    "url",
    [
        ROUND_TRIP_URL,
        "https://sandbox.api.mastercard.com:443/loyalty/rewards?plus=a+b&colon=x:y",
        "HTTPS://Sandbox.API.mastercard.com",
        "http://localhost:8080/loyalty/rewards/orders?ids=1,2&q=%2a",
    ],
)
def test_get_authorization_header_signed_request_verifies(
    private_key: rsa.RSAPrivateKey, url: str
) -> None:
    header = OAuth.get_authorization_header(url, "POST", ROUND_TRIP_BODY, CONSUMER_KEY, private_key)
    params = parse_authorization(header)
    assert verifies(private_key.public_key(), "POST", url, header)
    assert body_hash_matches(params, ROUND_TRIP_BODY)
    assert not body_hash_matches(params, ROUND_TRIP_BODY + b"\n")


def test_rsa_pss_header_from_the_library_verifies(private_key: rsa.RSAPrivateKey) -> None:
    header = OAuth.get_authorization_header(
        V64_2_URL, "GET", None, CONSUMER_KEY, private_key, SignatureMethod.RSA_PSS_SHA256
    )
    assert 'oauth_signature_method="RSA-PSS"' in header
    assert verifies(private_key.public_key(), "GET", V64_2_URL, header)
    as_pkcs1 = header.replace('"RSA-PSS"', '"RSA-SHA256"')
    assert not verifies(private_key.public_key(), "GET", V64_2_URL, as_pkcs1)


# --- sign_request --------------------------------------------------------------------------------


@pytest.mark.usefixtures("fixed_nonce_and_timestamp")
@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", ROUND_TRIP_URL, ROUND_TRIP_BODY),
        ("POST", V64_1_URL, V64_1_BODY),
        ("GET", V64_2_URL, b""),
        ("get", "https://API.mastercard.com:443?param1=plus+value&param2=colon:value", b""),
        ("PUT", "http://localhost:8080/abc/%123/service?a=123&b=%2a2b3", b"{}"),
    ],
)
def test_sign_request_produces_the_librarys_header_and_verifies(
    private_key: rsa.RSAPrivateKey, method: str, url: str, body: bytes
) -> None:
    library = OAuth.get_authorization_header(url, method, body, CONSUMER_KEY, private_key)
    ours = sign_request(
        private_key, CONSUMER_KEY, method, url, body, nonce=NONCE, timestamp=TIMESTAMP
    )
    assert ours == library
    assert verifies(private_key.public_key(), method, url, ours)


def test_sign_request_reproduces_the_test_key_vector_header_shape() -> None:
    # §6.4 #1 was signed with the test key; without its private half, check everything but the
    # signature against the published header.
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ours = sign_request(
        key, CONSUMER_KEY, "POST", V64_1_URL, V64_1_BODY, nonce=NONCE, timestamp=TIMESTAMP
    )
    assert ours.split("oauth_signature=")[0] == V64_1_HEADER.split("oauth_signature=")[0]


def test_sign_request_with_rsa_pss_verifies(private_key: rsa.RSAPrivateKey) -> None:
    header = sign_request(
        private_key, CONSUMER_KEY, "POST", V64_1_URL, V64_1_BODY, signature_method="RSA-PSS"
    )
    assert parse_authorization(header).signature_method == "RSA-PSS"
    assert verifies(private_key.public_key(), "POST", V64_1_URL, header)


def test_sign_request_defaults_to_a_fresh_alphanumeric_nonce_and_the_current_time(
    private_key: rsa.RSAPrivateKey,
) -> None:
    before = int(time.time())
    first = parse_authorization(sign_request(private_key, CONSUMER_KEY, "GET", V64_2_URL, b""))
    second = parse_authorization(sign_request(private_key, CONSUMER_KEY, "GET", V64_2_URL, b""))
    assert re.fullmatch(r"[0-9A-Za-z]{16}", first.nonce)
    assert first.nonce != second.nonce
    assert before <= first.timestamp <= int(time.time())


def test_sign_request_rejects_an_unsupported_signature_method(
    private_key: rsa.RSAPrivateKey,
) -> None:
    with pytest.raises(ValueError, match="Unsupported signature method"):
        sign_request(private_key, CONSUMER_KEY, "GET", V64_2_URL, b"", signature_method="RSA-SHA1")


def test_signature_of_the_test_key_is_standard_base64() -> None:
    # The header carries base64 percent-encoded; parse decodes both layers.
    params = parse_authorization(V64_2_HEADER)
    assert base64.b64encode(params.signature).decode().startswith("P8dV+YYFYStkh1wVzhUDU")
