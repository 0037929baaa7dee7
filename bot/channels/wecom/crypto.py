"""WeCom (企业微信) self-built-app callback crypto: signature, AES, safe XML.

Pure functions and classes: no network and no clock of their own (callers pass
``now`` as epoch seconds). The wire format follows Tencent's callback docs:

* AES-256-CBC, key = base64decode(EncodingAESKey + "="), IV = key[:16],
  PKCS#7 padding to 32-byte blocks;
* plaintext = 16 random bytes + 4-byte big-endian msg length + msg + receiveid;
* msg_signature = sha1 of the sorted concatenation of token, timestamp, nonce
  and the Encrypt string.

Every refusal raises :class:`WeComCryptoError` whose ``reason`` is one of
:data:`REASONS`, so the HTTP layer can log it and answer 4xx. Verify the
signature before decrypting (``verify_url`` and ``decrypt_message`` do), so an
unauthenticated peer never gets a padding oracle. Replay protection beyond the
timestamp window (deduplicating MsgId or nonces) is the caller's job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _safe_fromstring

from bot.domain.digits import is_digits

__all__ = [
    "DEFAULT_MAX_XML_BYTES",
    "DEFAULT_WINDOW",
    "REASONS",
    "WeComCrypto",
    "WeComCryptoError",
    "check_fresh",
    "parse_xml",
]

DEFAULT_MAX_XML_BYTES = 64 * 1024
DEFAULT_WINDOW = 300
BLOCK = 32  # WeCom pads to 32 bytes, not to the 16-byte AES block
RANDOM_LEN = 16
_HEADER_LEN = RANDOM_LEN + 4
_AES_KEY_CHARS = 43
_NONCE_RE = re.compile(r"[A-Za-z0-9]{1,64}")

REASONS = frozenset(
    {
        "aes_key",  # EncodingAESKey is not 43 base64 chars decoding to 32 bytes
        "signature",  # msg_signature does not match
        "timestamp",  # timestamp is not a decimal integer
        "stale",  # timestamp outside the freshness window
        "base64",  # Encrypt / echostr is not valid base64
        "length",  # ciphertext or plaintext lengths are inconsistent
        "padding",  # PKCS#7 padding is invalid
        "receiveid",  # trailing receiveid is not our corp id
        "encoding",  # decrypted message is not UTF-8
        "too_large",  # body over the size cap
        "xml",  # malformed XML, DTD/entities, duplicate or missing fields
    }
)


class WeComCryptoError(Exception):
    """A callback was refused; ``reason`` is a short code from :data:`REASONS`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        assert reason in REASONS, reason
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


# ---------------------------------------------------------------- XML


def parse_xml(body: bytes | str, *, max_bytes: int = DEFAULT_MAX_XML_BYTES) -> dict[str, str]:
    """Parse a WeCom XML document into {child tag: text} after a size cap.

    The size is checked before any parsing; DTDs, entities and external
    references are refused. Only the root's direct children are returned
    (CDATA is unwrapped, empty elements give ""); a repeated child tag is
    refused rather than silently picking one.
    """
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(data) > max_bytes:
        raise WeComCryptoError("too_large", f"{len(data)} bytes > {max_bytes}")
    try:
        root = _safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ET.ParseError, ValueError, LookupError) as exc:
        # ValueError / LookupError: unsupported or unknown declared encoding
        raise WeComCryptoError("xml", type(exc).__name__) from None
    fields: dict[str, str] = {}
    for child in root:
        if not isinstance(child.tag, str):  # comments / processing instructions
            continue
        if child.tag in fields:
            raise WeComCryptoError("xml", "duplicate element")
        fields[child.tag] = child.text or ""
    return fields


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


# ---------------------------------------------------------------- helpers


def _decode_aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != _AES_KEY_CHARS:
        raise WeComCryptoError("aes_key", f"EncodingAESKey must be {_AES_KEY_CHARS} chars")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except ValueError:
        raise WeComCryptoError("aes_key", "EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise WeComCryptoError("aes_key", "EncodingAESKey must decode to 32 bytes")
    return key


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII input
        raise WeComCryptoError("base64", "not valid base64") from None


def _pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK  # 1..32: a full block when already aligned
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    n = data[-1]
    if not 1 <= n <= BLOCK or n > len(data):
        raise WeComCryptoError("padding", "pad byte out of range")
    if data[-n:] != bytes([n]) * n:
        raise WeComCryptoError("padding", "pad bytes differ")
    return data[:-n]


def _parse_timestamp(timestamp: str) -> int:
    if not is_digits(timestamp) or len(timestamp) > 12:
        raise WeComCryptoError("timestamp", "not a decimal epoch")
    return int(timestamp)


def check_fresh(timestamp: str, *, now: int, window: int | None = DEFAULT_WINDOW) -> None:
    """Refuse a timestamp more than ``window`` seconds from ``now`` (either way).

    ``window=None`` only checks the format.
    """
    ts = _parse_timestamp(timestamp)
    if window is None:
        return
    if window < 0:
        raise ValueError("window must be >= 0")
    if abs(now - ts) > window:
        raise WeComCryptoError("stale", f"timestamp {now - ts:+d} s from now")


# ---------------------------------------------------------------- the codec


class WeComCrypto:
    """Callback codec for one self-built app (token, EncodingAESKey, corp id)."""

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        receive_id: str,
        *,
        max_xml_bytes: int = DEFAULT_MAX_XML_BYTES,
    ) -> None:
        if not token or not receive_id:
            raise ValueError("token and receive_id must be non-empty")
        self._token = token
        self._key = _decode_aes_key(encoding_aes_key)
        self._receive_id = receive_id.encode("utf-8")
        self.receive_id = receive_id
        self.max_xml_bytes = max_xml_bytes

    def __repr__(self) -> str:  # never show the token or key
        return f"WeComCrypto(receive_id={self.receive_id!r})"

    # -- signature

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """Hex sha1 of the sorted concatenation of token, timestamp, nonce, encrypt."""
        joined = "".join(sorted([self._token, timestamp, nonce, encrypt]))
        return hashlib.sha1(joined.encode("utf-8")).hexdigest()

    def verify_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = self.signature(timestamp, nonce, encrypt).encode("ascii")
        if not hmac.compare_digest(expected, msg_signature.encode("utf-8")):
            raise WeComCryptoError("signature", "msg_signature mismatch")

    def _verify(
        self, msg_signature: str, timestamp: str, nonce: str, encrypt: str, now: int, window: int | None
    ) -> None:
        self.verify_signature(msg_signature, timestamp, nonce, encrypt)
        check_fresh(timestamp, now=now, window=window)

    # -- AES

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, plaintext: str, *, random_prefix: bytes | None = None) -> str:
        """Encrypt ``plaintext`` for WeCom; returns the base64 Encrypt string."""
        prefix = os.urandom(RANDOM_LEN) if random_prefix is None else random_prefix
        if len(prefix) != RANDOM_LEN:
            raise ValueError(f"random_prefix must be {RANDOM_LEN} bytes")
        msg = plaintext.encode("utf-8")
        raw = prefix + len(msg).to_bytes(4, "big") + msg + self._receive_id
        encryptor = self._cipher().encryptor()
        sealed = encryptor.update(_pad(raw)) + encryptor.finalize()
        return base64.b64encode(sealed).decode("ascii")

    def decrypt(self, encrypt_b64: str) -> str:
        """Decrypt an Encrypt / echostr string and check its receiveid.

        Call only after the signature was verified.
        """
        if len(encrypt_b64) > self.max_xml_bytes:
            raise WeComCryptoError("too_large", "ciphertext over the size cap")
        sealed = _b64decode(encrypt_b64)
        if not sealed or len(sealed) % 16:
            raise WeComCryptoError("length", "ciphertext is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        raw = _unpad(decryptor.update(sealed) + decryptor.finalize())
        return self._split_plaintext(raw)

    def _split_plaintext(self, raw: bytes) -> str:
        if len(raw) < _HEADER_LEN:
            raise WeComCryptoError("length", "plaintext shorter than its header")
        msg_len = int.from_bytes(raw[RANDOM_LEN:_HEADER_LEN], "big")
        end = _HEADER_LEN + msg_len
        if end > len(raw):
            raise WeComCryptoError("length", "msg length exceeds plaintext")
        if not hmac.compare_digest(raw[end:], self._receive_id):
            raise WeComCryptoError("receiveid", "receiveid is not our corp id")
        try:
            return raw[_HEADER_LEN:end].decode("utf-8")
        except UnicodeDecodeError:
            raise WeComCryptoError("encoding", "message is not UTF-8") from None

    # -- callbacks

    def verify_url(
        self,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        echostr: str,
        *,
        now: int,
        window: int | None = DEFAULT_WINDOW,
    ) -> str:
        """Check a URL-verification GET; return the bare echostr to answer with.

        ``echostr`` must be the URL-decoded query value ("+" kept as "+").
        """
        self._verify(msg_signature, timestamp, nonce, echostr, now, window)
        return self.decrypt(echostr)

    def decrypt_message(
        self,
        body: bytes | str,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        *,
        now: int,
        window: int | None = DEFAULT_WINDOW,
    ) -> dict[str, str]:
        """Outer XML -> signature and freshness -> decrypt -> inner XML, as a flat dict."""
        outer = parse_xml(body, max_bytes=self.max_xml_bytes)
        encrypt = outer.get("Encrypt")
        if not encrypt:
            raise WeComCryptoError("xml", "no Encrypt element")
        self._verify(msg_signature, timestamp, nonce, encrypt, now, window)
        return parse_xml(self.decrypt(encrypt), max_bytes=self.max_xml_bytes)

    def encrypt_reply(
        self, plaintext: str, timestamp: str, nonce: str, *, random_prefix: bytes | None = None
    ) -> str:
        """Build the encrypted passive-reply envelope (Encrypt, MsgSignature, TimeStamp, Nonce)."""
        _parse_timestamp(timestamp)
        if not _NONCE_RE.fullmatch(nonce):
            raise ValueError("nonce must be 1..64 ASCII letters or digits")
        encrypt = self.encrypt(plaintext, random_prefix=random_prefix)
        signature = self.signature(timestamp, nonce, encrypt)
        return (
            f"<xml><Encrypt>{_cdata(encrypt)}</Encrypt>"
            f"<MsgSignature>{_cdata(signature)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce>{_cdata(nonce)}</Nonce></xml>"
        )
