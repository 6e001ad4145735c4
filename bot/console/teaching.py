"""What staff teach the bot from the unmatched inbox, in one place.

An example goes into the intent store and a dismissal becomes one of the matcher's negatives
(`IntentStore.add_negative`: that text, and messages that read more like it than like any
intent, stay unmatched); every worker's matcher follows within RELOAD_CHECK, this process's at
its next match. The group leaves the inbox either way.
"""

from __future__ import annotations

from typing import Any

from bot.conversation.services import Services
from bot.understanding.intent_store import MAX_NEGATIVE


def add_example(services: Services, intent_id: str, text: str) -> dict[str, Any]:
    """Teach `intent_id` the phrasing `text`; KeyError if there is no such intent."""
    return services.intents.add_example(intent_id, text)


def dismiss(services: Services, group_id: str) -> bool:
    """The group is not for the shop: its query becomes a negative and the group goes; False
    if it was already gone."""
    group = services.unmatched.get(group_id)
    if group is None:
        return False
    text = (group.get("text") or "").strip()[:MAX_NEGATIVE]
    if text:
        services.intents.add_negative(text)
    services.unmatched.resolve(group_id)
    return True


def resolve(services: Services, group_id: str) -> None:
    """The group was answered another way (an example or a new FAQ): it leaves the inbox."""
    services.unmatched.resolve(group_id)
