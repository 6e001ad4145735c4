"""Proactive messages to customers: order pushes (the pipeline from `orders:changes` to a
WeChat channel, with rhythm, consent, quiet hours and caps), notification preferences and
consent, the push log. docs/pushes.md.

May import `bot.wechat`, `bot.orders`, `bot.conversation`, `bot.understanding` and
`bot.platform`."""
