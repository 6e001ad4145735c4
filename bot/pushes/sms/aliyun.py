"""SMS_PROVIDER=aliyun: Alibaba Cloud SMS (Dysmsapi 2017-05-25) through its official SDK.

The wording lives in the template the merchant registered with Alibaba Cloud; the bot sends
the template code and its parameters (per push kind in PUSH_TEMPLATES), and the idempotency key
as `OutId`, which comes back in delivery receipts and the console for tracing.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import models as openapi_models
from alibabacloud_tea_openapi.exceptions import ClientException, ThrottlingException
from darabonba.runtime import RuntimeOptions

from bot.pushes.sms.provider import Sent, SmsError, SmsMessage

# Codes that say this message will never go out as it is; others (throttling, the service
# busy) are retried later with the same OutId.
PERMANENT = {
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS", "isv.INVALID_PARAMETERS", "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.PARAM_LENGTH_LIMIT", "isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE",
    "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL", "isv.DENY_IP_RANGE",
    "isv.SMS_SIGN_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.BUSINESS_LIMIT_CONTROL",
    "InvalidAccessKeyId.NotFound", "SignatureDoesNotMatch",
}
TIMEOUT_MS = 5000


class AliyunProvider:
    name = "aliyun"

    def __init__(self, access_key_id: str, access_key_secret: str, endpoint: str,
                 sign_name: str) -> None:
        # "dysmsapi.aliyuncs.com" in production; tests give "http://127.0.0.1:PORT".
        parts = urlsplit(endpoint if "://" in endpoint else "https://" + endpoint)
        config = openapi_models.Config(
            access_key_id=access_key_id, access_key_secret=access_key_secret,
            endpoint=parts.netloc, protocol=parts.scheme,
            connect_timeout=TIMEOUT_MS, read_timeout=TIMEOUT_MS,
        )
        self.client = Client(config)
        self.sign_name = sign_name
        # Retries are the job queue's, with backoff and the same OutId; not the SDK's own.
        self.runtime = RuntimeOptions(autoretry=False, max_attempts=0)

    def send(self, message: SmsMessage) -> Sent:
        if not message.template_code:
            raise SmsError("no_template", retry=False)
        request = sms_models.SendSmsRequest(
            phone_numbers=message.phone, sign_name=self.sign_name,
            template_code=message.template_code,
            template_param=json.dumps(message.params, ensure_ascii=False),
            out_id=message.idempotency_key,
        )
        try:
            response = self.client.send_sms_with_options(request, self.runtime)
        except ThrottlingException as exc:
            raise SmsError(f"aliyun:{exc.code}", retry=True) from exc
        except ClientException as exc:
            code = str(getattr(exc, "code", "") or "client")
            raise SmsError(f"aliyun:{code}", retry=_transient(code)) from exc
        except Exception as exc:
            # Network errors, timeouts and 5xx surface as several SDK types: all transient.
            raise SmsError(f"aliyun:{type(exc).__name__}", retry=True) from exc
        body = response.body
        code = body.code if body else ""
        if code != "OK":
            raise SmsError(f"aliyun:{code}", retry=_transient(code or ""))
        return Sent(body.biz_id or "")


def _transient(code: str) -> bool:
    # isv.* are the account's or the message's problems (its per-phone rate limit included:
    # a notice sent an hour late is worse than none); the rest is the service's moment.
    return code not in PERMANENT and not code.startswith("isv.")
