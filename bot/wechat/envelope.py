"""WeChat's envelope: signatures, safe-mode AES (with key rotation) and a hardened XML read."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any

import xmltodict
from wechatpy import parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner

from bot.platform.config import Config
from bot.wechat.cipher import MessageCipher

# XML 1.0 forbids these; WeChat passes them through from users' keyboards and peers' parsers die.
_ILLEGAL_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DECLARATIONS = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# WeChat's openids are 28 URL-safe base64 characters; anything without one is not a user's
# message, and it would key dialogue state and dedup under "" for every such request.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SENDER = re.compile(r"[^\s]{1,128}")


class EnvelopeError(Exception):
    """A request that must be refused; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Opened:
    """A verified, decrypted, parsed request and how to seal the reply."""

    message: Any                      # the wechatpy message object
    crypto: MessageCipher | None      # set when the request came encrypted


def signature_of(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce, *extra)
    return signer.signature


class Envelope:
    """Opens WeChat requests and seals replies for one configured account."""

    def __init__(self, config: Config) -> None:
        self.token = config.wechat_token
        self.tolerance = config.timestamp_tolerance
        keys = [k for k in (config.wechat_aes_key, config.wechat_aes_key_previous) if k]
        self.cryptos = [MessageCipher(self.token, key, config.wechat_appid) for key in keys]

    def check_plain_signature(self, args: dict[str, str], now: float) -> None:
        """Verify `signature` over token/timestamp/nonce and the timestamp window."""
        timestamp = args.get("timestamp", "")
        self._check_timestamp(timestamp, now)
        expected = signature_of(self.token, timestamp, args.get("nonce", ""))
        if not hmac.compare_digest(expected, args.get("signature", "")):
            raise EnvelopeError(403, "bad signature")

    def open(self, args: dict[str, str], body: bytes, now: float) -> Opened:
        """Verify, decrypt when encrypted, sanitise and parse one POSTed message."""
        encrypted = args.get("encrypt_type", "raw").lower() == "aes"
        if encrypted:
            self._check_timestamp(args.get("timestamp", ""), now)
        else:
            self.check_plain_signature(args, now)
        text = _clean_xml_text(body)
        if not text.strip():
            raise EnvelopeError(400, "empty body")
        crypto = None
        if encrypted:
            if not self.cryptos:
                raise EnvelopeError(400, "encrypted message but no WECHAT_AES_KEY configured")
            text, crypto = self._decrypt(_parse_xml(text), args)
            # The inner XML gets the same hardening: control characters, no DTD.
            text = _clean_xml_text(text.encode("utf-8"))
        try:
            # xmltodict (under parse_message) refuses entities by default: no expansion.
            message = parse_message(text)
        except Exception as exc:  # wechatpy raises bare KeyErrors on missing MsgType
            raise EnvelopeError(400, "not a WeChat message") from exc
        data = getattr(message, "_data", None)
        if not isinstance(data, dict):
            raise EnvelopeError(400, "not a WeChat message")
        sender = data.get("FromUserName")
        if not isinstance(sender, str) or not _SENDER.fullmatch(sender):
            raise EnvelopeError(400, "no FromUserName")
        return Opened(message=message, crypto=crypto)

    def seal(self, opened: Opened, reply_xml: str, nonce: str, timestamp: str) -> str:
        """Encrypt the reply with the key the request used, or return it as is."""
        if opened.crypto is None:
            return reply_xml
        return opened.crypto.encrypt_message(reply_xml, nonce, timestamp)

    def _decrypt(self, outer: dict[str, Any], args: dict[str, str]) -> tuple[str, MessageCipher]:
        encrypt = outer.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise EnvelopeError(400, "no Encrypt element")
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        expected = signature_of(self.token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected, args.get("msg_signature", "")):
            raise EnvelopeError(403, "bad msg_signature")
        # During an EncodingAESKey rotation WeChat may still use the previous key.
        for crypto in self.cryptos:
            try:
                plain = crypto.decrypt_message(
                    {"Encrypt": encrypt}, args["msg_signature"], timestamp, nonce
                )
                return plain, crypto
            except InvalidSignatureException as exc:
                raise EnvelopeError(403, "bad msg_signature") from exc
            except Exception:  # wrong key: bad padding, bad appid, garbage bytes
                continue
        raise EnvelopeError(400, "cannot decrypt")

    def _check_timestamp(self, timestamp: str, now: float) -> None:
        # ASCII digits only, and few: int() also reads "１７００…" and 400-digit numbers, which
        # then overflow the float comparison below (a 500).
        if not _TIMESTAMP.fullmatch(timestamp):
            raise EnvelopeError(403, "missing or bad timestamp")
        sent = int(timestamp)
        if abs(now - sent) > self.tolerance:
            raise EnvelopeError(403, "timestamp outside the allowed window")


def _clean_xml_text(body: bytes) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EnvelopeError(400, "body is not UTF-8") from exc
    # A DTD can only stand before the root element; a user may well type "<!DOCTYPE" in a message.
    root = text.find("<xml")
    if _DECLARATIONS.search(text, 0, root if root >= 0 else len(text)):
        # WeChat never sends a DTD; refusing one removes entity expansion attacks outright.
        raise EnvelopeError(400, "DTD or entity declarations are not accepted")
    return _ILLEGAL_XML_CHARS.sub("", text)


def _parse_xml(text: str) -> dict[str, Any]:
    try:
        doc = xmltodict.parse(text, disable_entities=True)
    except Exception as exc:
        raise EnvelopeError(400, "malformed XML") from exc
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise EnvelopeError(400, "no <xml> root")
    return root
