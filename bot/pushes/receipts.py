"""What WeChat tells us after a send, and the user's subscribe choices, from callback events.

- `TEMPLATESENDJOBFINISH` (Status `success`, `failed:user block`, `failed: system failed`) and
  `subscribe_msg_sent_event` (per template: ErrorCode 0 or not) mark the pushes of that
  message `delivered` / `delivery_failed` in the log; a user block stops the channel.
- `subscribe_msg_popup_event` / `subscribe_msg_change_event`: "accept" grants one
  one-time notice for that template (spent on use); "reject" withdraws what is left.
"""

from __future__ import annotations

from typing import Any

import redis

from bot.pushes.grants import Grants
from bot.pushes.log import DELIVERED, DELIVERY_FAILED, PushLog
from bot.pushes.store import PushStore


def _items(raw: Any) -> list[dict[str, Any]]:
    """WeChat's <List> holds one item (a dict once parsed) or several (a list)."""
    if isinstance(raw, dict):
        inner = raw.get("List", raw)
        return [inner] if isinstance(inner, dict) else [i for i in inner or []
                                                        if isinstance(i, dict)]
    if isinstance(raw, list):
        return [i for i in raw if isinstance(i, dict)]
    return []


class Receipts:
    def __init__(self, client: redis.Redis, tz: str = "Asia/Shanghai") -> None:
        self.redis = client
        self.store = PushStore(client)
        self.log = PushLog(client, tz)
        self.grants = Grants(client)

    def popup(self, openid: str, raw: dict[str, Any]) -> int:
        """subscribe_msg_popup_event / subscribe_msg_change_event: returns grants added."""
        container = raw.get("SubscribeMsgPopupEvent") or raw.get("SubscribeMsgChangeEvent")
        added = 0
        for item in _items(container):
            template_id = str(item.get("TemplateId") or "")
            status = str(item.get("SubscribeStatusString") or "").lower()
            if not template_id:
                continue
            if status == "accept":
                self.grants.grant(openid, template_id)
                added += 1
            elif status == "reject":
                self.grants.revoke(openid, template_id)
        return added

    def template_finished(self, openid: str, raw: dict[str, Any], at: float) -> str | None:
        status = str(raw.get("Status") or "")
        ok = status == "success"
        if "user block" in status:
            self.grants.stop(openid, "template", "user block", at)
        return self._mark(str(raw.get("MsgID") or raw.get("MsgId") or ""), ok, status, at)

    def subscribe_sent(self, raw: dict[str, Any], at: float) -> list[str]:
        out = []
        for item in _items(raw.get("SubscribeMsgSentEvent")):
            code = str(item.get("ErrorCode") or "0")
            marked = self._mark(str(item.get("MsgID") or ""), code == "0",
                                str(item.get("ErrorStatus") or code), at)
            if marked:
                out.append(marked)
        return out

    def _mark(self, wechat_msgid: str, ok: bool, status: str, at: float) -> str | None:
        if not wechat_msgid:
            return None
        msg_id = self.redis.get(f"pushes:wxmsg:{wechat_msgid}")
        message = self.store.message(msg_id) if msg_id else None
        if message is None:
            return None
        pipe = self.redis.pipeline(transaction=False)
        for rec in self.store.get_many(message["members"]):
            self.log.record(rec.order_id, push_id=rec.push_id, kind=rec.kind,
                            status=DELIVERED if ok else DELIVERY_FAILED,
                            channel=message.get("channel", ""), reason="" if ok else status,
                            at=at, pipe=pipe)
        pipe.hset(f"pushes:m:{msg_id}", "receipt", status)
        self.log.execute(pipe)
        return msg_id
