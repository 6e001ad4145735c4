"""One process of the token-storm test: wait for the start time, send one 客服消息."""

from __future__ import annotations

import sys
import time

import redis

from bot.platform.config import Config
from bot.wechat.api import WeChatAPI


def main() -> None:
    redis_url, api_base, start_at, openid = sys.argv[1:5]
    config = Config.from_mapping({"bot_demo": True, "redis_url": redis_url,
                                  "wechat_api_base_url": api_base})
    api = WeChatAPI(config, redis.Redis.from_url(redis_url, decode_responses=True))
    api.client.session.get(api.client.access_token_key)  # connect before the start line
    time.sleep(max(0.0, float(start_at) - time.time()))
    result = api.send_text(openid, "storm")
    print("ok" if result.get("errcode") == 0 else f"failed {result}", flush=True)


if __name__ == "__main__":
    main()
