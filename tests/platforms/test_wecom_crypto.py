"""WeCom callback crypto against the official sample vector, and the ways a callback can be wrong."""

import base64

import pytest

from bot.chat.adapters.wecom_crypto import BLOCK, WecomCrypto, WecomCryptoError, pad, signature, unpad

# From WeCom's published callback samples (see /work/shared/INTEGRATION.md).
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wx5823bf96d3bd56c7"
SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
TIMESTAMP = "1409659589"
NONCE = "263014780"
ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="


@pytest.fixture
def crypto() -> WecomCrypto:
    return WecomCrypto(TOKEN, AES_KEY, CORP_ID)


def test_official_vector_signature(crypto: WecomCrypto) -> None:
    assert signature(TOKEN, TIMESTAMP, NONCE, ECHOSTR) == SIGNATURE


def test_official_vector_decrypts_to_the_echo(crypto: WecomCrypto) -> None:
    assert crypto.open(SIGNATURE, TIMESTAMP, NONCE, ECHOSTR) == "1616140317555161061"


def test_encrypting_the_echo_with_its_random_prefix_gives_the_official_ciphertext(crypto: WecomCrypto) -> None:
    raw = crypto.key[:16]
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(crypto.key), modes.CBC(raw)).decryptor()
    plain = decryptor.update(base64.b64decode(ECHOSTR)) + decryptor.finalize()
    assert crypto.encrypt("1616140317555161061", random_prefix=plain[:16]) == ECHOSTR


def test_round_trip_with_chinese_text(crypto: WecomCrypto) -> None:
    message = "<xml><Content><![CDATA[/owner 华通贸易]]></Content></xml>"
    encrypted, sig = crypto.seal(message, "1764036000", "42")
    assert crypto.open(sig, "1764036000", "42", encrypted) == message


def test_padding_is_to_32_bytes() -> None:
    for size in (0, 1, 31, 32, 33):
        padded = pad(b"x" * size)
        assert len(padded) % BLOCK == 0 and len(padded) > size
        assert unpad(padded) == b"x" * size


@pytest.mark.parametrize("field", ["signature", "timestamp", "nonce", "ciphertext"])
def test_any_changed_part_fails_the_signature(crypto: WecomCrypto, field: str) -> None:
    args = {"signature": SIGNATURE, "timestamp": TIMESTAMP, "nonce": NONCE, "ciphertext": ECHOSTR}
    value = args[field]
    args[field] = ("Q" if value[0] != "Q" else "R") + value[1:] if field == "ciphertext" else \
        ("9" if value[0] != "9" else "8") + value[1:]
    with pytest.raises(WecomCryptoError):
        crypto.open(args["signature"], args["timestamp"], args["nonce"], args["ciphertext"])


def test_message_for_another_corp_is_refused() -> None:
    other = WecomCrypto(TOKEN, AES_KEY, "ww0another")
    with pytest.raises(WecomCryptoError, match="corp id"):
        other.decrypt(ECHOSTR)


@pytest.mark.parametrize("bad", ["not base64 !!", "", base64.b64encode(b"short").decode()])
def test_garbage_ciphertext_is_refused(crypto: WecomCrypto, bad: str) -> None:
    with pytest.raises(WecomCryptoError):
        crypto.decrypt(bad)


def test_bad_encoding_aes_key() -> None:
    with pytest.raises(WecomCryptoError):
        WecomCrypto(TOKEN, "tooshort", CORP_ID)
