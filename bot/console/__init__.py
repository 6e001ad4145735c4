"""The staff and merchant console (empty until the console lands).

May import `bot.wechat`, `bot.pushes`, `bot.orders` and everything below them."""
