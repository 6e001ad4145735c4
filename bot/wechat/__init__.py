"""The WeChat protocol edge: the callback blueprint, envelope (verify, decrypt, parse, render),
reply coordinator (dedup, deadline), late replies, the outgoing API client and health.

May import `bot.conversation`, `bot.understanding` and `bot.platform`."""
