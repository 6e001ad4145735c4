"""Proactive messages to customers: their notification preferences and consent.

May import `bot.orders`, `bot.conversation`, `bot.understanding` and `bot.platform`."""
