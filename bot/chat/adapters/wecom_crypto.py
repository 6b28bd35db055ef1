"""WeCom (企业微信) callback crypto: msg_signature and AES-256-CBC with the EncodingAESKey.

As WeCom specifies it: key = base64(EncodingAESKey + "="), iv = key[:16]; plaintext = 16 random bytes +
4-byte big-endian length + message + receive id (the corp id); PKCS#7 padding to a multiple of 32
(not AES's 16); msg_signature = sha1 of the sorted concatenation of token, timestamp, nonce and the
ciphertext. Written on `cryptography` rather than the unmaintained wechatpy.
"""

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.core.errors import MailroomError

BLOCK = 32


class WecomCryptoError(MailroomError):
    """A callback that does not verify or decrypt: answer 403, run nothing."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode("utf-8")).hexdigest()


def pad(data: bytes) -> bytes:
    amount = BLOCK - len(data) % BLOCK
    return data + bytes([amount]) * amount


def unpad(data: bytes) -> bytes:
    amount = data[-1] if data else 0
    if not 1 <= amount <= BLOCK or data[-amount:] != bytes([amount]) * amount:
        raise WecomCryptoError("bad padding")
    return data[:-amount]


class WecomCrypto:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        try:
            self.key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            raise WecomCryptoError("the EncodingAESKey is not base64") from None
        if len(self.key) != 32:
            raise WecomCryptoError("the EncodingAESKey must decode to 32 bytes (43 characters)")
        self.token = token
        self.receive_id = receive_id

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, msg_signature.lower()):
            raise WecomCryptoError("msg_signature does not match")

    def decrypt(self, encrypted: str) -> str:
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except binascii.Error:
            raise WecomCryptoError("ciphertext is not base64") from None
        if not raw or len(raw) % 16:
            raise WecomCryptoError("ciphertext has a bad length")
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        plain = unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < 20:
            raise WecomCryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length:
            raise WecomCryptoError("plaintext length field is wrong")
        if receive_id.decode("utf-8", "replace") != self.receive_id:
            raise WecomCryptoError("message is for another corp id")
        return message.decode("utf-8")

    def encrypt(self, message: str, *, random_prefix: bytes | None = None) -> str:
        body = message.encode("utf-8")
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        plain = pad(prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8"))
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def open(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """Verify, then decrypt: the one call a callback needs."""
        self.verify(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def seal(self, message: str, timestamp: str, nonce: str) -> tuple[str, str]:
        """Encrypt and sign (what WeCom does to a callback, and what a passive reply needs)."""
        encrypted = self.encrypt(message)
        return encrypted, signature(self.token, timestamp, nonce, encrypted)
