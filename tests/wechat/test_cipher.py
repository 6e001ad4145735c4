"""MessageCipher against wechatpy's WeChatCrypto: each opens what the other sealed."""

from __future__ import annotations

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.wechat.cipher import MessageCipher

TOKEN, APPID = "demo-token", "wxdemo0000000000"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OTHER_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"
# Lengths around WeChat's 32-byte padding block, and text beyond ASCII.
BODIES = ["<xml><Content><![CDATA[你好，有什么可以帮您？]]></Content></xml>",
          "<xml>" + "a" * 7 + "</xml>", "<xml>" + "b" * 39 + "</xml>", "<xml/>"]


def _sealed(xml: str) -> dict[str, str]:
    return xmltodict.parse(xml)["xml"]


@pytest.mark.parametrize("body", BODIES)
def test_opens_what_wechatpy_sealed(body):
    sealed = _sealed(WeChatCrypto(TOKEN, KEY, APPID).encrypt_message(body, "n0nce", "1700000000"))
    ours = MessageCipher(TOKEN, KEY, APPID)
    assert ours.decrypt_message(sealed, sealed["MsgSignature"], "1700000000", "n0nce") == body


@pytest.mark.parametrize("body", BODIES)
def test_wechatpy_opens_what_it_sealed(body):
    xml = MessageCipher(TOKEN, KEY, APPID).encrypt_message(body, "n0nce", "1700000000")
    sealed = _sealed(xml)
    assert sealed["TimeStamp"] == "1700000000" and sealed["Nonce"] == "n0nce"
    theirs = WeChatCrypto(TOKEN, KEY, APPID)
    assert theirs.decrypt_message(xml, sealed["MsgSignature"], "1700000000", "n0nce") == body


def test_each_reply_is_encrypted_afresh():
    cipher = MessageCipher(TOKEN, KEY, APPID)
    first, second = (_sealed(cipher.encrypt_message("<xml/>", "n", "1"))["Encrypt"]
                     for _ in range(2))
    assert first != second   # the random prefix differs


def test_refuses_a_wrong_signature_another_account_or_key():
    sealed = _sealed(WeChatCrypto(TOKEN, KEY, APPID).encrypt_message("<xml/>", "n", "1"))
    with pytest.raises(InvalidSignatureException):
        MessageCipher(TOKEN, KEY, APPID).decrypt_message(sealed, "0" * 40, "1", "n")
    with pytest.raises(InvalidAppIdException):
        MessageCipher(TOKEN, KEY, "wxsomeoneelse000").decrypt_message(
            sealed, sealed["MsgSignature"], "1", "n")
    with pytest.raises(Exception):  # noqa: B017 - garbage fails somewhere; any error will do
        MessageCipher(TOKEN, OTHER_KEY, APPID).decrypt_message(
            sealed, sealed["MsgSignature"], "1", "n")
