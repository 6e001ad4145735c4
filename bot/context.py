"""The per-message context handed to every handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.dialogue import Conversation
from bot.messages import Incoming
from bot.replies import Reply

if TYPE_CHECKING:
    from bot.services import Services


@dataclass
class MessageContext:
    """One message's user, text, dialogue state, match and reply helpers."""

    msg: Incoming
    services: Services
    state: Conversation
    lang: str
    text: str = ""
    match: Any = None             # bot.matcher.MatchResult when the matcher ran
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def openid(self) -> str:
        return self.msg.openid

    def reply(self, template: str, **data: Any) -> Reply:
        """Render a `replies/` template in the user's language."""
        return self.services.replies.render(template, self.lang, **data)

    def text_of(self, template: str, **data: Any) -> str:
        """Render a template to a string, for composing a longer reply."""
        return self.services.replies.text(template, self.lang, **data)
