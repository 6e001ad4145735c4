"""The staff and merchant console: accounts, the unmatched inbox, FAQs, hand-offs and
conversations, pushes and the overview, under /console.

May import `bot.pushes`, `bot.wechat`, `bot.orders` and everything below them."""
