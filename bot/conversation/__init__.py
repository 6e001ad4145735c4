"""One message's way through the bot: dispatch, routing, context, handler registry, dialogue
state, reply templates, users, throttle, service hours, transcript, hand-offs to staff, reply
language and Chinese typography.

May import `bot.understanding` and `bot.platform`."""
