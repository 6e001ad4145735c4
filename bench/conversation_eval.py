"""A scripted customer session through the signed WeChat callback: how many replies were right.

Orders are fed through the signed webhook (`POST /hooks/orders`), then three customers talk to
the bot the way people talk: naming orders by what is in them, following up without repeating
the subject, picking from lists, hurrying, complaining, asking shop questions, sending stickers
and a photo, switching language. Each message carries the expected kind of reply: the handler
that answered (from the transcript), the order it is about, words it must or must not contain,
and side effects in Redis (a hand-off, a 催件 record).

The messages and expectations were written in one sitting before the conversation mechanisms
were tuned, and are not used by the test suite; see bench/README.md for the figures.

    TEST_REDIS_URL=redis://127.0.0.1:6379/4 python bench/conversation_eval.py [-v]

It flushes the Redis database it is given.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bot import create_app  # noqa: E402
from bot.local.simulator import WeChatSimulator, flask_transport  # noqa: E402
from bot.orders.webhook import sign  # noqa: E402
from bot.platform.clock import FixedClock  # noqa: E402
from bot.platform.config import Config  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)     # a Tuesday morning, staff on duty
A, B, C = "oEvalCustomerA00000000000001", "oEvalCustomerB00000000000002", \
    "oEvalCustomerC00000000000003"
SPEAKER, SCARF, BERRIES, BOOTS, PYJAMAS, MUG = (
    "880000000101", "880000000102", "880000000103", "880000000104", "880000000105",
    "880000000106")
ALL_ORDERS = (SPEAKER, SCARF, BERRIES, BOOTS, PYJAMAS, MUG)


def at(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).isoformat()


def orders_of_a() -> list[dict]:
    def ev(order_id: str, status: str, hours: float, **order: object) -> dict:
        return {"event_id": f"eval-{order_id}-{status}", "occurred_at": at(hours),
                "order": {"order_id": order_id, "status": status, "openid": A,
                          "phone": "13900001111", **order}}

    def pt(hours: float, location: str, description: str) -> dict:
        return {"time": at(hours), "location": location, "description": description}

    return [
        ev(SPEAKER, "in_transit", -2, carrier="SF", tracking_no="SF1300000000101",
           eta=at(25), items=[{"name": "便携蓝牙音箱", "category": "electronics"}],
           tracking=[pt(-20, "深圳", "顺丰已揽收"), pt(-2, "杭州转运中心", "到达")]),
        ev(SCARF, "delivered", -20, carrier="YTO", tracking_no="YT1300000000102",
           items=[{"name": "羊毛围巾 灰色"}],
           tracking=[pt(-60, "苏州", "圆通已揽收"), pt(-20, "杭州西湖区", "本人签收")]),
        ev(BERRIES, "exception", -5, carrier="ZTO", tracking_no="73130000000103",
           eta=at(-4), items=[{"name": "有机蓝莓 125g×4", "category": "fresh"}],
           exception={"reason": "暴雨导致航班延误", "new_eta": at(48)},
           tracking=[pt(-30, "昆明", "中通已揽收"), pt(-5, "昆明机场", "航班延误")]),
        ev(BOOTS, "processing", -10, eta=at(74), items=[{"name": "儿童雨靴 恐龙款 28码"}]),
        ev(PYJAMAS, "shipped", -3, carrier="YD", tracking_no="43130000000105", eta=at(-2),
           items=[{"name": "纯棉睡衣套装"}], tracking=[pt(-40, "广州", "韵达已揽收")]),
        ev(MUG, "paid", -1, eta=at(120), items=[{"name": "陶瓷马克杯 刻名字",
                                                     "category": "custom"}]),
    ]


# (who, message, expectation). Expectation keys:
#   handler: name or tuple of names that may answer; order: the one order id the reply is
#   about (no other of A's orders in it); orders: ids a list must show; has / lacks: strings;
#   hurry: an order that must now have a 催件 record; handoff: a hand-off reason the user
#   must now have; photos: how many photos the user's hand-off must hold; differs: the
#   reply's first line differs from that of the step with this number.
SCRIPT: list[tuple[str, str, dict]] = [
    (A, "你好", {"handler": "greeting"}),
    (A, "我买的音箱到哪儿了", {"handler": ("order_focus", "logistics"), "order": SPEAKER,
                          "has": ["顺丰"]}),
    (A, "大概几点能送到", {"handler": "order_focus", "order": SPEAKER, "has": ["明天上午11点"]}),
    (A, "那蓝莓呢", {"handler": "order_focus", "order": BERRIES, "has": ["暴雨"]}),
    (A, "异常是啥意思", {"handler": "order_focus", "order": BERRIES, "has": ["原因"]}),
    (A, "那还要等多久", {"order": BERRIES, "has": ["后天上午10点"]}),
    (A, "帮我催一下蓝莓", {"handler": "hurry", "order": BERRIES, "hurry": BERRIES}),
    (A, "我的睡衣怎么还没到啊", {"handler": "order_focus", "order": PYJAMAS,
                            "has": ["晚"]}),
    (A, "衣服都发了吗", {"handler": "order_focus", "orders": [SCARF, PYJAMAS],
                    "lacks": [BOOTS, SPEAKER]}),
    (A, "第二个", {"order": SCARF, "has": ["已签收"]}),
    (A, "另一个呢", {"order": PYJAMAS}),
    (A, "雨靴做好了没", {"handler": "order_focus", "order": BOOTS}),
    (A, "孩子的鞋子能快点发吗 下周要穿", {"handler": "hurry", "order": BOOTS, "has": ["仓库"],
                                "hurry": BOOTS}),
    (A, "杯子呢", {"handler": "order_focus", "order": MUG}),
    (A, "怎么联系你们", {"handler": "faq", "lacks": ["SF13", "YT13", "订单 88"]}),
    (A, "你们一般发什么快递", {"handler": "faq", "has": ["中通"], "lacks": ["订单 88"]}),
    (A, "退货的运费谁出", {"handler": "faq", "has": ["运费"], "lacks": ["订单 88"]}),
    (A, "如果是质量问题 寄回的邮费也要我付吗", {"handler": "faq", "has": ["承担"]}),
    (A, "能用顺丰寄吗", {"handler": "faq", "lacks": ["SF13", "订单 88"]}),
    (A, "查一下快递单号 YT9999999999999", {"has": ["快递单号"], "lacks": ["没有查到订单"]}),
    (A, "手机壳什么时候到", {"has": ["没有找到"]}),
    (A, "沙发什么时候送来", {"has": ["没有找到"], "orders": [SPEAKER]}),
    (A, "👍", {"handler": "light_ack"}),
    (A, "[微笑]", {"handler": "light_ack"}),
    (A, "你们这服务太差了 我要投诉！！", {"handler": "complaint", "handoff": "complaint"}),
    (A, "<image>", {"handler": "media", "photos": 1}),
    (A, "蓝莓到底什么时候能到 等了好几天了 再不到我就退款 太离谱了",
     {"handler": "complaint", "order": BERRIES, "differs": 25}),
    (A, "English", {"has": ["English"]}),
    (A, "where is my speaker", {"order": SPEAKER, "has": ["SF Express"]}),
    (A, "when will it arrive", {"order": SPEAKER, "has": ["tomorrow"]}),
    (A, "中文", {"has": ["中文"]}),
    (A, "谢谢", {"handler": "greeting", "has": ["不客气"]}),
    (A, "我的订单", {"handler": "order_status", "orders": [MUG, SPEAKER, PYJAMAS, BERRIES,
                                                         BOOTS]}),
    (A, "3", {"order": PYJAMAS}),
    (A, "最后那个呢", {"order": BOOTS}),
    (A, "它发货了吗", {"order": BOOTS, "has": ["还没有"]}),
    (A, "音箱的物流", {"order": SPEAKER, "has": ["/track/"]}),
    (A, "马克杯什么时候能到", {"handler": "order_focus", "order": MUG}),
    (A, "怎么退货", {"handler": "faq", "has": ["退货"]}),
    (A, "围巾想退", {"handler": "faq", "has": ["退货"]}),
    (A, "运费险怎么用", {"handler": "faq", "has": ["运费险"]}),
    (A, "发票怎么开", {"handler": "faq", "has": ["发票"]}),
    (A, "转人工", {"handler": "handoff"}),
    (A, "算了", {"has": ["好的"]}),
    (A, "。。。", {"handler": "light_ack"}),
    (A, "？？", {"handler": "light_ack"}),
    (A, "帮我看看蓝牙音箱今天能不能到", {"order": SPEAKER}),
    (A, "那个睡衣为啥还没送到", {"handler": "order_focus", "order": PYJAMAS}),
    (A, "我昨天买的书到哪了", {"has": ["没有找到"]}),
    (A, "有机蓝莓是哪家快递", {"order": BERRIES, "has": ["中通"]}),
    (A, "880000000102 签收了吗", {"order": SCARF, "has": ["已签收"]}),
    (A, "再帮我催催睡衣", {"handler": "hurry", "order": PYJAMAS, "hurry": PYJAMAS}),
    (A, "睡衣我已经催过了还是没动静 你们到底管不管", {"handler": "complaint"}),
    (A, "好的 谢谢你", {"handler": "greeting"}),
    (A, "拜拜", {"handler": "greeting", "has": ["再见"]}),
    (B, "我的葡萄干什么时候到", {"has": ["订单号"]}),
    (B, "帮我催一下", {"handler": "hurry", "has": ["订单号"]}),
    (B, "电话多少", {"handler": "faq", "has": ["客服"]}),
    (B, "可以发顺丰吗", {"handler": "faq", "has": ["顺丰"]}),
    (B, "太慢了吧!!!", {"handler": "complaint"}),
    (B, "👌", {"handler": "light_ack"}),
    (C, "hi, where is my parcel", {"has": ["order number"]}),
    (C, "can you ship with SF Express", {"handler": "faq"}),
    (C, "I want to complain, this is ridiculous", {"handler": "complaint", "has": ["sorry"]}),
]

_ASCII_PUNCT_BY_CJK = re.compile(r"[\u4e00-\u9fff][,:;!?]|[,;!?][\u4e00-\u9fff]")


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        print("set TEST_REDIS_URL to a Redis database this may flush", file=sys.stderr)
        return 2
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    clock = FixedClock(NOW.timestamp())
    config = Config.from_mapping({"bot_demo": True, "redis_url": url,
                                  "bot_data_dir": str(ROOT / "data" / "eval"),
                                  "wechat_api_base_url": "http://127.0.0.1:9/cgi-bin/"})
    app = create_app(config, redis_client=client, clock=clock)
    services = app.extensions["bot"]
    services.intents.seed_defaults()
    http = app.test_client()
    for body in orders_of_a():
        raw = json.dumps(body, ensure_ascii=False).encode()
        resp = http.post("/hooks/orders", data=raw, content_type="application/json",
                         headers={"X-Signature": sign(config.order_webhook_secret, raw)})
        assert resp.status_code == 200, resp.data
    sim = WeChatSimulator(flask_transport(http), config.wechat_token, config.wechat_appid,
                          config.wechat_aes_key, now=clock.now)
    replies: dict[int, str] = {}
    right = 0
    typography = 0
    for step, (who, message, expect) in enumerate(SCRIPT, start=1):
        clock.advance(15)          # a person's pace: the flood guard never trips
        if message == "<image>":
            reply = _send_image(sim, who, clock, step) or ""
        else:
            reply = sim.text(who, message) or ""
        replies[step] = reply
        problems = _check(services, client, who, reply, expect, replies)
        if _ASCII_PUNCT_BY_CJK.search(reply):
            typography += 1
        if not problems:
            right += 1
        if verbose or problems:
            mark = "ok  " if not problems else "MISS"
            print(f"{mark} {step:2d} {who[-1]} {message}")
            if problems:
                print(f"        {'; '.join(problems)}")
                print("        bot: " + reply.replace("\n", " / ")[:300])
    total = len(SCRIPT)
    print(f"\n{right}/{total} replies right ({right / total:.0%}); "
          f"{typography} Chinese replies with ASCII punctuation beside Chinese")
    return 0


def _send_image(sim: WeChatSimulator, who: str, clock: FixedClock, step: int) -> str | None:
    xml = (f"<xml><ToUserName><![CDATA[gh_demo_account]]></ToUserName>"
           f"<FromUserName><![CDATA[{who}]]></FromUserName>"
           f"<CreateTime>{int(clock.now())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
           f"<PicUrl><![CDATA[http://example.invalid/p{step}.jpg]]></PicUrl>"
           f"<MediaId><![CDATA[media{step}]]></MediaId><MsgId>{9_000_000 + step}</MsgId></xml>")
    return sim.post(xml).text


def _check(services, client, who: str, reply: str, expect: dict,  # noqa: ANN001
           replies: dict[int, str]) -> list[str]:
    problems = []
    turns = client.lrange(f"chat:{who}:turns", 0, 0)
    handler = json.loads(turns[0]).get("handler", "") if turns else ""
    wanted = expect.get("handler")
    if wanted:
        allowed = wanted if isinstance(wanted, tuple) else (wanted,)
        if handler not in allowed:
            problems.append(f"handler {handler!r}, wanted {'/'.join(allowed)}")
    order = expect.get("order")
    if order:
        others = [o for o in ALL_ORDERS if o != order and o in reply]
        if order not in reply:
            problems.append(f"not about {order}")
        elif others:
            problems.append(f"also names {', '.join(others)}")
    for order_id in expect.get("orders", []):
        if order_id not in reply:
            problems.append(f"list lacks {order_id}")
    for text in expect.get("has", []):
        if text not in reply:
            problems.append(f"lacks {text!r}")
    for text in expect.get("lacks", []):
        if text in reply:
            problems.append(f"says {text!r}")
    if expect.get("hurry") and not client.exists(f"orders:hurry:{expect['hurry']}"):
        problems.append("no 催件 record")
    if expect.get("handoff") or expect.get("photos"):
        current = client.get(f"handoff:user:{who}")
        record = client.hgetall(f"handoff:{current}") if current else {}
        if expect.get("handoff") and record.get("reason") != expect["handoff"]:
            problems.append(f"hand-off {record.get('reason')!r}")
        if expect.get("photos") and len(json.loads(record.get("photos") or "[]")) \
                != expect["photos"]:
            problems.append("photo not attached")
    if expect.get("differs"):
        before = replies[expect["differs"]].splitlines()[:1]
        if before == reply.splitlines()[:1]:
            problems.append("same apology as before")
    return problems


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
