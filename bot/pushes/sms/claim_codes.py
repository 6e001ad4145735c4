"""The SMS provider as the order claims' code sender (`bot.orders.claims.CodeSender`).

A verification code is not a notification: no 回T退订, no night hold, no daily cap, and a
customer who opted out of notifications still gets the code they asked for. Its wording is
`sms_claim_code` in replies/sms.zh-CN.yaml; Alibaba Cloud sends its own verification template,
`claim_code: {sms: {template_code: SMS_…, params: {code: code}}}` in PUSH_TEMPLATES.
"""

from __future__ import annotations

import secrets

from bot.conversation.replies import Replies
from bot.pushes.sms.provider import SmsMessage, SmsProvider

KIND = "claim_code"
LANG = "zh-CN"


class SmsCodeSender:
    def __init__(self, provider: SmsProvider, replies: Replies, sign_name: str,
                 aliyun_template: tuple[str, dict[str, str]] | None = None) -> None:
        self.provider = provider
        self.replies = replies
        self.sign_name = sign_name
        self.aliyun_template = aliyun_template

    def send_code(self, phone: str, code: str, minutes: int) -> None:
        """Send `code`, valid `minutes`, to `phone`; the provider's SmsError propagates."""
        text = f"【{self.sign_name}】" + self.replies.text(f"sms_{KIND}", LANG, code=code,
                                                          minutes=minutes)
        template_code, params = "", {}
        if self.aliyun_template is not None:
            template_code, mapping = self.aliyun_template
            values = {"code": code, "minutes": str(minutes)}
            params = {var: values.get(source, "") for var, source in mapping.items()}
        # Each code is its own message: a retry of a send is a new code, never a duplicate.
        self.provider.send(SmsMessage(phone=phone, text=text, kind=KIND, order_id="",
                                      idempotency_key=f"{KIND}:{secrets.token_hex(8)}",
                                      template_code=template_code, params=params))


def code_sender(provider: SmsProvider | None, replies: Replies, sign_name: str,
                aliyun_templates: dict[str, tuple[str, dict[str, str]]]) -> SmsCodeSender | None:
    """The code sender for the configured provider; None (claims by the full phone number)
    when there is no SMS, or Alibaba Cloud has no verification template configured."""
    if provider is None:
        return None
    if provider.name == "aliyun":
        template = aliyun_templates.get(KIND)
        return SmsCodeSender(provider, replies, sign_name, template) if template else None
    return SmsCodeSender(provider, replies, sign_name)
