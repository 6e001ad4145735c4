"""The peer for bench/callback_bench.py: WeRoBot (bench/requirements.txt) answering every text
with a keyword reply, its session read and written in the same Redis as the bot's (REDIS_URL),
under the same gunicorn settings. It verifies, decrypts, parses, replies and encrypts like the
bot; it has no matcher, no cross-worker dedup and no deadline."""

import os

import redis
from werobot import WeRoBot
from werobot.session.redisstorage import RedisStorage

TOKEN, APPID = "demo-token", "wxdemo0000000000"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

# A keyword auto-reply, as WeRoBot users write one: first keyword the text contains wins.
KEYWORDS = [
    ("订单", "请发送您的订单号"), ("退货", "收到商品7天内可申请退货"),
    ("发货", "下单后48小时内发货"), ("人工", "正在为您转接人工客服"), ("物流", "请发送快递单号"),
    ("运费", "满99元包邮"), ("发票", "可以开具电子发票"), ("你好", "您好，有什么可以帮您？"),
    ("谢谢", "不客气"),
]
DEFAULT = "抱歉，没听懂，回复“人工”转接客服"

robot = WeRoBot(token=TOKEN, encoding_aes_key=AES_KEY, app_id=APPID,
                session_storage=RedisStorage(
                    redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")),
                    prefix="werobot:"))


@robot.text
def keyword_reply(message, session):  # noqa: ANN001, ANN201 - WeRoBot's handler signature
    # One session read (before the handler) and one write (after it), done by WeRoBot.
    session["last"] = message.content
    session["count"] = session.get("count", 0) + 1
    return next((reply for word, reply in KEYWORDS if word in message.content), DEFAULT)


app = robot.wsgi
