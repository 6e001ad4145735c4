"""Understanding a customer's words: normaliser, entities, the intent matcher, the intent store
and file format, and the queries nobody could place. Pure of Flask.

May import `bot.platform` only."""
