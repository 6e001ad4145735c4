"""SMS to customers WeChat cannot reach: providers (webhook, Alibaba Cloud), the text rules,
the sending policy (opt-out, night, daily cap, idempotency) and `POST /hooks/sms` for replies.

Part of `bot.pushes`; may import what it may (`bot.orders`, `bot.conversation`, `bot.platform`)."""
