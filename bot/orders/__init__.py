"""Orders: the model, store, validation, webhook, the shop's API, who may see which order, and
putting an order into words (chat and tracking page).

May import `bot.conversation`, `bot.understanding` and `bot.platform`; never pushes or console."""
