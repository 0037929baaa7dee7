"""WeCom callback crypto: Tencent's official sample vectors and every refusal."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.wecom.crypto import WeComCrypto, WeComCryptoError, parse_xml

# Official callback sample for self-built apps (2016).
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP_ID = "ww1436e0e65a779aee"

URL_SIG = "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
URL_TS = "1476416373"
URL_NONCE = "47744683"
URL_ECHOSTR = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
URL_PLAIN = "1288432023552776189"
URL_PREFIX = b"8908d0ff052afda0"

MSG_SIG = "0c3914025cb4b4d68103f6bfc8db550f79dcf48e"
MSG_TS = "1476422779"
MSG_NONCE = "1597212914"
MSG_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2"
    "AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8"
    "KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQ"
    "DCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
)
MSG_PLAIN = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)
MSG_PREFIX = b"694ce5a83ae07fe3"


def outer_xml(encrypt: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
    ).encode()


def seal_raw(raw: bytes) -> str:
    """AES-CBC with the sample key and no padding of its own: to forge bad plaintexts."""
    key = base64.b64decode(AES_KEY + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()


def layout(msg: bytes, receive_id: bytes = CORP_ID.encode(), declared_len: int | None = None) -> bytes:
    n = len(msg) if declared_len is None else declared_len
    return b"R" * 16 + n.to_bytes(4, "big") + msg + receive_id


def pkcs7_32(data: bytes) -> bytes:
    n = 32 - len(data) % 32
    return data + bytes([n]) * n


@pytest.fixture
def wc() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID)


def assert_reason(exc_info: pytest.ExceptionInfo[WeComCryptoError], reason: str) -> None:
    assert exc_info.value.reason == reason, str(exc_info.value)


# ---------------------------------------------------------------- official vectors


def test_url_vector_signature_and_echostr(wc: WeComCrypto) -> None:
    assert wc.signature(URL_TS, URL_NONCE, URL_ECHOSTR) == URL_SIG
    assert wc.verify_url(URL_SIG, URL_TS, URL_NONCE, URL_ECHOSTR, now=int(URL_TS)) == URL_PLAIN


def test_url_vector_reencrypts_exactly(wc: WeComCrypto) -> None:
    assert wc.encrypt(URL_PLAIN, random_prefix=URL_PREFIX) == URL_ECHOSTR


def test_message_vector_decrypts_byte_exactly(wc: WeComCrypto) -> None:
    assert wc.signature(MSG_TS, MSG_NONCE, MSG_ENCRYPT) == MSG_SIG
    assert wc.decrypt(MSG_ENCRYPT).encode("utf-8") == MSG_PLAIN.encode("utf-8")


def test_message_vector_reencrypts_exactly_with_22_pad_bytes(wc: WeComCrypto) -> None:
    assert wc.encrypt(MSG_PLAIN, random_prefix=MSG_PREFIX) == MSG_ENCRYPT
    unpadded = 16 + 4 + len(MSG_PLAIN.encode()) + len(CORP_ID)
    assert len(base64.b64decode(MSG_ENCRYPT)) - unpadded == 22


def test_message_vector_full_callback(wc: WeComCrypto) -> None:
    fields = wc.decrypt_message(outer_xml(MSG_ENCRYPT), MSG_SIG, MSG_TS, MSG_NONCE, now=int(MSG_TS))
    assert fields == {
        "ToUserName": CORP_ID,
        "FromUserName": "ChenJiaShun",
        "CreateTime": "1476422779",
        "MsgType": "text",
        "Content": "你好",
        "MsgId": "1456453720",
        "AgentID": "1000002",
    }


# ---------------------------------------------------------------- signature and freshness


def test_wrong_signature_refused(wc: WeComCrypto) -> None:
    bad = ("1" if URL_SIG[0] != "1" else "2") + URL_SIG[1:]
    with pytest.raises(WeComCryptoError) as e:
        wc.verify_url(bad, URL_TS, URL_NONCE, URL_ECHOSTR, now=int(URL_TS))
    assert_reason(e, "signature")


def test_tampered_encrypt_refused_by_signature(wc: WeComCrypto) -> None:
    other = wc.encrypt(MSG_PLAIN, random_prefix=b"0" * 16)
    with pytest.raises(WeComCryptoError) as e:
        wc.decrypt_message(outer_xml(other), MSG_SIG, MSG_TS, MSG_NONCE, now=int(MSG_TS))
    assert_reason(e, "signature")


@pytest.mark.parametrize("offset", [301, -301, 10**6])
def test_stale_timestamp_refused(wc: WeComCrypto, offset: int) -> None:
    with pytest.raises(WeComCryptoError) as e:
        wc.verify_url(URL_SIG, URL_TS, URL_NONCE, URL_ECHOSTR, now=int(URL_TS) + offset)
    assert_reason(e, "stale")


def test_window_edge_and_configurable(wc: WeComCrypto) -> None:
    ts = int(MSG_TS)
    body = outer_xml(MSG_ENCRYPT)
    assert wc.decrypt_message(body, MSG_SIG, MSG_TS, MSG_NONCE, now=ts + 300)["Content"] == "你好"
    with pytest.raises(WeComCryptoError) as e:
        wc.decrypt_message(body, MSG_SIG, MSG_TS, MSG_NONCE, now=ts + 61, window=60)
    assert_reason(e, "stale")
    assert wc.verify_url(URL_SIG, URL_TS, URL_NONCE, URL_ECHOSTR, now=2_000_000_000, window=None) == URL_PLAIN


def test_non_numeric_timestamp_refused(wc: WeComCrypto) -> None:
    ts = "14764a6373"
    sig = wc.signature(ts, URL_NONCE, URL_ECHOSTR)
    with pytest.raises(WeComCryptoError) as e:
        wc.verify_url(sig, ts, URL_NONCE, URL_ECHOSTR, now=int(URL_TS))
    assert_reason(e, "timestamp")


# ---------------------------------------------------------------- plaintext structure


def test_wrong_receiveid_refused(wc: WeComCrypto) -> None:
    foreign = WeComCrypto(TOKEN, AES_KEY, "wwffffffffffffffff").encrypt(URL_PLAIN)
    sig = wc.signature(URL_TS, URL_NONCE, foreign)
    with pytest.raises(WeComCryptoError) as e:
        wc.verify_url(sig, URL_TS, URL_NONCE, foreign, now=int(URL_TS))
    assert_reason(e, "receiveid")


def test_missing_receiveid_refused(wc: WeComCrypto) -> None:
    with pytest.raises(WeComCryptoError) as e:
        wc.decrypt(seal_raw(pkcs7_32(layout(b"hello", receive_id=b""))))
    assert_reason(e, "receiveid")


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b"\x00", id="pad-byte-0"),
        pytest.param(b"\x21" * 33, id="pad-byte-33"),  # consistent, but over 32
        pytest.param(b"\x03\x04\x04\x04", id="inconsistent-pad-bytes"),
    ],
)
def test_bad_padding_refused(wc: WeComCrypto, tail: bytes) -> None:
    body = layout(b"hello")
    body += b"\x04" * (-(len(body) + len(tail)) % 32) + tail
    assert len(body) % 32 == 0
    with pytest.raises(WeComCryptoError) as e:
        wc.decrypt(seal_raw(body))
    assert_reason(e, "padding")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(pkcs7_32(layout(b"hello", declared_len=10_000)), id="msg-len-too-big"),
        pytest.param(pkcs7_32(b"R" * 16 + b"\x00\x00"), id="shorter-than-header"),
    ],
)
def test_inconsistent_lengths_refused(wc: WeComCrypto, raw: bytes) -> None:
    with pytest.raises(WeComCryptoError) as e:
        wc.decrypt(seal_raw(raw))
    assert_reason(e, "length")


def test_ciphertext_not_whole_blocks_refused(wc: WeComCrypto) -> None:
    with pytest.raises(WeComCryptoError) as e:
        wc.decrypt(base64.b64encode(base64.b64decode(URL_ECHOSTR)[:-1]).decode())
    assert_reason(e, "length")


def test_non_utf8_message_refused(wc: WeComCrypto) -> None:
    with pytest.raises(WeComCryptoError) as e:
        wc.decrypt(seal_raw(pkcs7_32(layout(b"\xff\xfe"))))
    assert_reason(e, "encoding")


@pytest.mark.parametrize("bad", ["not base64!!", URL_ECHOSTR[:-2], "ZmFr ZQ==", "你好"])
def test_malformed_base64_refused(wc: WeComCrypto, bad: str) -> None:
    sig = wc.signature(URL_TS, URL_NONCE, bad)
    with pytest.raises(WeComCryptoError) as e:
        wc.verify_url(sig, URL_TS, URL_NONCE, bad, now=int(URL_TS))
    assert_reason(e, "base64")


# ---------------------------------------------------------------- key


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(AES_KEY[:42], id="42-chars"),
        pytest.param(AES_KEY + "A", id="44-chars"),
        pytest.param(AES_KEY[:42] + "!", id="not-base64"),
    ],
)
def test_bad_aes_key_refused(key: str) -> None:
    with pytest.raises(WeComCryptoError) as e:
        WeComCrypto(TOKEN, key, CORP_ID)
    assert_reason(e, "aes_key")


def test_repr_hides_secrets(wc: WeComCrypto) -> None:
    assert TOKEN not in repr(wc) and AES_KEY not in repr(wc)
    assert CORP_ID in repr(wc)


# ---------------------------------------------------------------- XML

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><Encrypt>&lol4;</Encrypt></xml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Encrypt>&xxe;</Encrypt></xml>"""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(b"<xml><Encrypt>&undefined;</Encrypt></xml>", id="undefined-entity"),
        pytest.param(b"<xml><Encrypt>abc</Encrypt>", id="unclosed"),
        pytest.param(b"", id="empty"),
        pytest.param(b"<!DOCTYPE xml><xml><A>1</A></xml>", id="bare-doctype"),
        pytest.param(b'<?xml version="1.0" encoding="no-such"?><xml/>', id="unknown-encoding"),
        pytest.param(b"<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>", id="duplicate-field"),
    ],
)
def test_unsafe_or_malformed_xml_refused(body: bytes) -> None:
    with pytest.raises(WeComCryptoError) as e:
        parse_xml(body)
    assert_reason(e, "xml")


def test_outer_xml_refused_before_signature(wc: WeComCrypto) -> None:
    with pytest.raises(WeComCryptoError) as e:
        wc.decrypt_message(BILLION_LAUGHS, "0" * 40, MSG_TS, MSG_NONCE, now=int(MSG_TS))
    assert_reason(e, "xml")


def test_inner_xml_parsed_safely(wc: WeComCrypto) -> None:
    encrypt = wc.encrypt(EXTERNAL_ENTITY.decode())
    sig = wc.signature(MSG_TS, MSG_NONCE, encrypt)
    with pytest.raises(WeComCryptoError) as e:
        wc.decrypt_message(outer_xml(encrypt), sig, MSG_TS, MSG_NONCE, now=int(MSG_TS))
    assert_reason(e, "xml")


def test_missing_encrypt_refused(wc: WeComCrypto) -> None:
    with pytest.raises(WeComCryptoError) as e:
        wc.decrypt_message(b"<xml><ToUserName>x</ToUserName></xml>", MSG_SIG, MSG_TS, MSG_NONCE, now=0)
    assert_reason(e, "xml")


def test_oversized_body_refused_before_parsing() -> None:
    body = b"<" * (64 * 1024 + 1)  # malformed too: size must win
    with pytest.raises(WeComCryptoError) as e:
        parse_xml(body)
    assert_reason(e, "too_large")
    filler = 64 * 1024 - len(b"<xml><A></A></xml>")
    at_cap = b"<xml><A>" + b"x" * filler + b"</A></xml>"
    assert len(at_cap) == 64 * 1024
    assert len(parse_xml(at_cap)["A"]) == filler


def test_size_cap_configurable(wc: WeComCrypto) -> None:
    small = WeComCrypto(TOKEN, AES_KEY, CORP_ID, max_xml_bytes=100)
    with pytest.raises(WeComCryptoError) as e:
        small.decrypt_message(outer_xml(MSG_ENCRYPT), MSG_SIG, MSG_TS, MSG_NONCE, now=int(MSG_TS))
    assert_reason(e, "too_large")
    with pytest.raises(WeComCryptoError) as e:
        parse_xml(b"<xml><A>12345</A></xml>", max_bytes=10)
    assert_reason(e, "too_large")


def test_cdata_and_empty_elements() -> None:
    fields = parse_xml(b"<xml><A><![CDATA[<b>&amp;]]></A><B/><C></C><!-- c --></xml>")
    assert fields == {"A": "<b>&amp;", "B": "", "C": ""}


def test_opaque_msgid_and_big_agentid_stay_strings(wc: WeComCrypto) -> None:
    msgid = "CAIQg/PKxgYY2sC9tpuAgAMg9/zKaw=="
    agent_id = str(2**32 + 7)
    inner = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[ 0042 ]]></Content><MsgId>{msgid}</MsgId><AgentID>{agent_id}</AgentID></xml>"
    )
    encrypt = wc.encrypt(inner)
    sig = wc.signature(MSG_TS, MSG_NONCE, encrypt)
    fields = wc.decrypt_message(outer_xml(encrypt), sig, MSG_TS, MSG_NONCE, now=int(MSG_TS))
    assert fields["MsgId"] == msgid
    assert fields["AgentID"] == agent_id and type(fields["AgentID"]) is str
    assert fields["Content"] == " 0042 "


# ---------------------------------------------------------------- round trips


def test_round_trip_full_pad_block(wc: WeComCrypto) -> None:
    overhead = 16 + 4 + len(CORP_ID)
    msg = "m" * (64 - overhead)  # plaintext layout is exactly 64 bytes
    encrypt = wc.encrypt(msg, random_prefix=b"\x00" * 16)
    assert len(base64.b64decode(encrypt)) == 64 + 32  # a whole 32-byte pad block
    assert wc.decrypt(encrypt) == msg


def test_round_trip_chinese(wc: WeComCrypto) -> None:
    msg = "【调度】城东污水厂二期：本周完成桩基 80%，请于周五前报送进度。"
    encrypt = wc.encrypt(msg)
    assert wc.decrypt(encrypt) == msg


def test_random_prefix_is_random_and_checked(wc: WeComCrypto) -> None:
    assert wc.encrypt("同一条消息") != wc.encrypt("同一条消息")
    with pytest.raises(ValueError):
        wc.encrypt("x", random_prefix=b"short")


def test_encrypted_reply_envelope_round_trips(wc: WeComCrypto) -> None:
    reply = "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[收到]]></Content></xml>"
    envelope = wc.encrypt_reply(reply, "1700000000", "abc123", random_prefix=URL_PREFIX)
    outer = parse_xml(envelope)
    assert set(outer) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert outer["TimeStamp"] == "1700000000" and outer["Nonce"] == "abc123"
    assert outer["Encrypt"] == wc.encrypt(reply, random_prefix=URL_PREFIX)
    assert outer["MsgSignature"] == wc.signature("1700000000", "abc123", outer["Encrypt"])
    fields = wc.decrypt_message(envelope, outer["MsgSignature"], "1700000000", "abc123", now=1700000000)
    assert fields == {"MsgType": "text", "Content": "收到"}
    with pytest.raises(ValueError):
        wc.encrypt_reply(reply, "1700000000", "a]]>b")
