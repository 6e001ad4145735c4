"""What staff teach the bot from the unmatched inbox, in one place.

The matcher is about to learn staff examples and "not for the shop" queries through its own
API; until then an example goes into the intent store (every worker's matcher follows within
RELOAD_CHECK) and a dismissal into the unmatched store's set of dismissed queries. Switching
to the matcher's API means changing these two functions only.
"""

from __future__ import annotations

from typing import Any

from bot.conversation.services import Services


def add_example(services: Services, intent_id: str, text: str) -> dict[str, Any]:
    """Teach `intent_id` the phrasing `text`; KeyError if there is no such intent."""
    return services.intents.add_example(intent_id, text)


def dismiss(services: Services, group_id: str) -> bool:
    """The group is not for the shop; False if it was already gone."""
    return services.unmatched.dismiss(group_id)


def resolve(services: Services, group_id: str) -> None:
    """The group was answered another way (an example or a new FAQ): it leaves the inbox."""
    services.unmatched.resolve(group_id)
