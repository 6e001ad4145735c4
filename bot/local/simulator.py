"""Talk to the bot the way WeChat's servers do: signed, optionally AES-encrypted XML posts.

Used by `python -m bot chat`, the tests and the benchmarks, so all three exercise the same path.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.wechat.envelope import signature_of

# (method, path with query string, body) -> (status, body)
Transport = Callable[[str, str, bytes], tuple[int, bytes]]

_msg_ids = itertools.count(int(time.time() * 1000) % 10**12 * 1000)


@dataclass
class Answer:
    status: int
    body: bytes
    text: str | None          # the reply's Content, decrypted; None for "success" or an error
    msg_type: str | None = None   # the reply's MsgType: text, transfer_customer_service…


def requests_transport(base_url: str, timeout: float = 10.0, keep_alive: bool = True) -> Transport:
    """Post over HTTP to a running bot (the chat CLI, gunicorn tests, benchmarks).

    WeChat opens a new connection per delivery; `keep_alive=False` does the same, which also
    spreads deliveries over gunicorn's workers.
    """
    import requests

    session = requests.Session() if keep_alive else requests

    def send(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        headers = {} if keep_alive else {"Connection": "close"}
        resp = session.request(
            method, base_url.rstrip("/") + path, data=body, timeout=timeout, headers=headers
        )
        return resp.status_code, resp.content

    return send


def flask_transport(client) -> Transport:  # noqa: ANN001 - a Flask test client
    """Post through a Flask test client (in-process tests)."""

    def send(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        resp = client.open(path, method=method, data=body, content_type="text/xml")
        return resp.status_code, resp.data

    return send


def cdata(value: str) -> str:
    """`value` as CDATA; a "]]>" inside is split across two sections, as WeChat does, so any
    text a user types arrives as typed."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_xml(openid: str, account: str, content: str, msg_id: int, create_time: int) -> str:
    return (
        f"<xml><ToUserName>{cdata(account)}</ToUserName>"
        f"<FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content><MsgId>{msg_id}</MsgId></xml>"
    )


def image_xml(openid: str, account: str, pic_url: str, media_id: str, msg_id: int,
              create_time: int) -> str:
    return (
        f"<xml><ToUserName>{cdata(account)}</ToUserName>"
        f"<FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl>{cdata(pic_url)}</PicUrl><MediaId>{cdata(media_id)}</MediaId>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(openid: str, account: str, event: str, key: str, create_time: int) -> str:
    return (
        f"<xml><ToUserName>{cdata(account)}</ToUserName>"
        f"<FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event>{cdata(event)}</Event><EventKey>{cdata(escape(key))}</EventKey></xml>"
    )


class WeChatSimulator:
    """Signs (and in safe mode encrypts) messages exactly as WeChat does and reads replies."""

    def __init__(
        self,
        transport: Transport,
        token: str,
        appid: str,
        aes_key: str = "",
        account: str = "gh_demo_account",
        now: Callable[[], float] = time.time,
        path: str = "/wechat",
    ) -> None:
        self.transport = transport
        self.token = token
        self.appid = appid
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None
        self.account = account
        self.now = now
        self.path = path

    def text(self, openid: str, content: str, **kw) -> str | None:  # noqa: ANN003
        """Send a text message; return the bot's reply text (None for `success`)."""
        return self.send_text(openid, content, **kw).text

    def send_text(
        self,
        openid: str,
        content: str,
        msg_id: int | None = None,
        create_time: int | None = None,
        encrypted: bool | None = None,
    ) -> Answer:
        create_time = create_time or int(self.now())
        xml = text_xml(openid, self.account, content, msg_id or next(_msg_ids), create_time)
        return self.post(xml, encrypted=encrypted)

    def image(self, openid: str, pic_url: str = "http://127.0.0.1/photo.jpg",
              encrypted: bool | None = None) -> Answer:
        """Send a photo message (WeChat gives the bot its URL and a media id)."""
        msg_id = next(_msg_ids)
        xml = image_xml(openid, self.account, pic_url, f"media{msg_id}", msg_id, int(self.now()))
        return self.post(xml, encrypted=encrypted)

    def event(
        self, openid: str, event: str, key: str = "", encrypted: bool | None = None
    ) -> Answer:
        xml = event_xml(openid, self.account, event, key, int(self.now()))
        return self.post(xml, encrypted=encrypted)

    def post(
        self,
        xml: str | bytes,
        encrypted: bool | None = None,
        timestamp: str | None = None,
        nonce: str | None = None,
        forge: bool = False,
    ) -> Answer:
        """Sign, encrypt when in safe mode, post, and read the reply."""
        encrypted = self.crypto is not None if encrypted is None else encrypted
        timestamp = timestamp or str(int(self.now()))
        nonce = nonce or str(random.randint(10**8, 10**9))
        params = {"timestamp": timestamp, "nonce": nonce}
        params["signature"] = signature_of(self.token, timestamp, nonce)
        body = xml.encode("utf-8") if isinstance(xml, str) else xml
        if encrypted:
            assert self.crypto is not None, "safe mode needs an AES key"
            sealed = self.crypto.encrypt_message(body.decode("utf-8"), nonce, timestamp)
            doc = xmltodict.parse(sealed)["xml"]
            params["encrypt_type"] = "aes"
            params["msg_signature"] = doc["MsgSignature"]
            body = (
                f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                f"<Encrypt><![CDATA[{doc['Encrypt']}]]></Encrypt></xml>"
            ).encode()
        if forge:
            params["signature"] = "0" * 40
            params["msg_signature"] = "0" * 40
        status, data = self.transport("POST", f"{self.path}?{urlencode(params)}", body)
        reply = self._read(status, data, encrypted)
        return Answer(status, data, reply.get("Content"), reply.get("MsgType"))

    def _read(self, status: int, data: bytes, encrypted: bool) -> dict:
        if status != 200 or data in (b"success", b""):
            return {}
        doc = xmltodict.parse(data.decode("utf-8"))["xml"]
        if encrypted:
            assert self.crypto is not None
            plain = self.crypto.decrypt_message(
                {"Encrypt": doc["Encrypt"]}, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"]
            )
            doc = xmltodict.parse(plain)["xml"]
        return doc
