"""The baseline for bench/callback_bench.py: Flask + wechatpy that only verifies, decrypts,
parses and echoes, with no Redis, dedup or matching."""

from flask import Flask, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply

TOKEN, APPID = "demo-token", "wxdemo0000000000"
crypto = WeChatCrypto(TOKEN, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", APPID)
app = Flask(__name__)


@app.post("/wechat")
def echo():
    args = request.args
    plain = crypto.decrypt_message(
        request.get_data(), args["msg_signature"], args["timestamp"], args["nonce"]
    )
    msg = parse_message(plain)
    reply = TextReply(source=msg.target, target=msg.source, content=msg.content).render()
    return crypto.encrypt_message(reply, args["nonce"], args["timestamp"])
