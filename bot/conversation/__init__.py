"""One message's way through the bot: dispatch, routing, context, handler registry, dialogue
state, reply templates, users, throttle and service hours.

May import `bot.understanding` and `bot.platform`."""
