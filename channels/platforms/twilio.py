"""Twilio Programmable Messaging: SMS, and WhatsApp through Twilio, as one channel.

Webhook: one message (or one status callback) per form-encoded POST, signed with the account's
auth token: ``X-Twilio-Signature`` is the base64 HMAC-SHA1 of the URL Twilio called followed by
every POST parameter's name and value, in sorted name order. The URL is the public one (the
gateway builds it from GATEWAY_PUBLIC_URL), so the signature holds behind a proxy. Twilio waits
for TwiML in the answer; we answer an empty ``<Response>`` and send replies through the REST API,
so that they go through the outbox and its retries like every other channel's.

SMS has no buttons: options become numbered lines and the gateway maps a reply "2" to the second
option's payload (``numbered = True``). A WhatsApp address keeps its ``whatsapp:`` prefix in both
``From`` and ``To``; that prefix is what tells the two apart here.

Docs: https://www.twilio.com/docs/usage/webhooks/webhooks-security,
https://www.twilio.com/docs/messaging/guides/webhook-request,
https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import aiohttp
from aiohttp import web

from channels.base import Channel, WebhookRequest, classify, load_json, post, require
from channels.errors import Rejected, forbidden, unauthorized
from channels.keys import Secret, equal
from channels.models import ApiCall, Button, Inbound, Outbound, Parsed, SendResult
from channels.settings import read_group
from channels.text import numbered, split_sms, split_text

SIGNATURE_HEADER = "X-Twilio-Signature"
WHATSAPP_PREFIX = "whatsapp:"
MESSAGES_PATH = "Messages.json"  # under {api_base}/Accounts/{AccountSid}/

# https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
#   Body: at most 1600 characters. WhatsApp through Twilio is held to this, not to WhatsApp's own
#   4096, and it is not SMS: no segments, so a WhatsApp reply is split at this limit only.
MAX_BODY = 1600
# https://www.twilio.com/docs/glossary/what-sms-character-limit
#   A segment holds 160 GSM-7 characters or 70 UCS-2 code units (153 and 67 in a concatenated
#   message). Each segment is billed as one SMS, and the more segments a message has, the likelier
#   an older phone or a foreign carrier shows it out of order or in pieces. Four segments (612 GSM-7
#   or 268 UCS-2 units: a paragraph of an answer in Arabic, Hindi or with an emoji) keep a message
#   readable as one and its cost bounded; a longer answer goes out as several messages that each
#   reassemble on their own.
MAX_SEGMENTS = 4
# Numbered options: the gateway accepts a one- or two-digit answer; more than ten lines of options
# would cost more segments than the answer itself and no one reads them on a small screen.
MAX_OPTIONS = 10
MAX_OPTION_TITLE = 60  # characters; a longer title is cut with "..." (ASCII, so it stays GSM-7)

# https://www.twilio.com/docs/messaging/guides/webhook-request (SmsStatus/MessageStatus):
# an incoming message says "received"; anything else (queued, sent, delivered, read, failed, ...)
# is a status callback about a message we sent.
INBOUND_STATUS = "received"
# https://help.twilio.com/articles/223134027 (default opt-out keywords) and OptOutType of Advanced
# Opt-Out: Twilio answers these itself and refuses our replies afterwards (error 21610), so they are
# not questions for Rasa.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
# Twilio sends a few dozen fields (more with media); a body with far more is not from Twilio.
MAX_FIELDS = 200
MAX_REASON_VALUE = 20  # how much of a status or type value goes into a log line
MAX_SID = 64

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

# Typographic characters that Rasa's texts often carry and GSM-7 lacks: one of them turns a whole SMS
# into UCS-2, which holds 67 characters a segment instead of 153. Twilio's "Smart Encoding" does the
# same replacement when it is switched on; doing it here makes the segment count we plan the one paid.
GSM_FRIENDLY = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-",
                              "…": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "•": "-"})
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_-]+")
API_BASE = "https://api.twilio.com/2010-04-01"


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: Secret
    api_base: str = API_BASE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TwilioSettings | None:
        """TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN (and _API_BASE); None when neither is set."""
        return read_group(env, cls, "TWILIO", secrets=("AUTH_TOKEN",), plain=("ACCOUNT_SID", "API_BASE"),
                          required_plain=("ACCOUNT_SID",))


class Twilio(Channel):
    name = "twilio"
    numbered = True

    def __init__(self, settings: TwilioSettings) -> None:
        self.settings = settings

    def verify(self, request: WebhookRequest) -> None:
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            raise unauthorized(f"missing {SIGNATURE_HEADER}")
        try:
            params = form_fields(request.body)
        except Rejected:
            # Twilio signs url-encoded UTF-8 forms only, so no signature over this body can be valid
            raise forbidden(f"wrong {SIGNATURE_HEADER} (the body is not a form Twilio could have signed)") from None
        token = self.settings.auth_token.reveal()
        # compare every candidate (no early exit), each in constant time
        matches = [equal(given.strip(), signature(token, url, params)) for url in signed_urls(request.url)]
        if not any(matches):
            raise forbidden(f"wrong {SIGNATURE_HEADER}")
        account = dict(params).get("AccountSid")
        require(bool(account), "no AccountSid")
        if not equal(account or "", self.settings.account_sid):
            # signed with our token but about another account (a subaccount's number pointed here)
            raise forbidden("AccountSid is not this gateway's account")

    def parse(self, request: WebhookRequest) -> Parsed:
        fields = dict(form_fields(request.body))
        sid = fields.get("MessageSid") or fields.get("SmsMessageSid") or ""
        require(0 < len(sid) <= MAX_SID, "not a Twilio message webhook: no MessageSid")
        status = fields.get("MessageStatus") or fields.get("SmsStatus") or ""
        if status and status.lower() != INBOUND_STATUS:
            return Parsed(ignored=[f"status callback {_loggable(status)}"])
        sender, ours = fields.get("From", ""), fields.get("To", "")
        require(bool(sender) and bool(ours), "message without From or To")
        require("Body" in fields or "NumMedia" in fields, "not an incoming message: no Body and no NumMedia")
        media = fields.get("NumMedia", "0") or "0"
        require(media.isascii() and media.isdigit(), "NumMedia is not a number")
        reply_to = {"from": ours}
        if int(media) > 0 or "Latitude" in fields:  # a picture, a voice note, a shared location
            return Parsed([Inbound(self.name, sid, sender, "media", reply_to=reply_to)])
        payload = fields.get("ButtonPayload", "")
        if payload:  # a WhatsApp quick-reply button; ButtonText is only its label
            return Parsed([Inbound(self.name, sid, sender, "button", payload, reply_to)])
        text = fields.get("Body", "")
        if not text.strip():
            return Parsed(ignored=["empty message"])
        if fields.get("OptOutType", "").upper() == "STOP" or (
                not sender.startswith(WHATSAPP_PREFIX) and text.strip().upper() in OPT_OUT_KEYWORDS):
            return Parsed(ignored=["opt-out keyword (Twilio confirms it and blocks further replies)"])
        return Parsed([Inbound(self.name, sid, sender, "text", text, reply_to)])

    def render(self, message: Outbound) -> list[ApiCall]:
        whatsapp = message.user_id.startswith(WHATSAPP_PREFIX)
        text = numbered(message.text, options(message.buttons, ascii_cut=not whatsapp))
        if whatsapp:
            parts = split_text(text, MAX_BODY)
        else:
            parts = split_sms(text.translate(GSM_FRIENDLY), MAX_SEGMENTS)
        # From is the number the person wrote to (reply_to); without it Twilio answers 400 and the
        # reply is dropped with that reason in the log
        sender = message.reply_to.get("from", "")
        return [ApiCall(MESSAGES_PATH, form={"From": sender, "To": message.user_id, "Body": part}) for part in parts]

    async def send(self, session: aiohttp.ClientSession, call: ApiCall) -> SendResult:
        url = f"{self.settings.api_base}/Accounts/{self.settings.account_sid}/{call.path}"
        # HTTP Basic by hand: aiohttp 3.14 deprecates BasicAuth and 3.9 lacks what replaces it
        credentials = f"{self.settings.account_sid}:{self.settings.auth_token.reveal()}".encode()
        status, headers, body = await post(session, url, call,
                                           headers={"Authorization": f"Basic {base64.b64encode(credentials).decode()}"})
        result = classify(status, headers)
        if result.ok:
            return result
        code = _error_code(body)
        # Twilio's error code says what went wrong (21610: the person opted out; 63016: outside
        # WhatsApp's 24-hour window); its message may quote the number, so only the code is kept
        return SendResult(ok=False, retry_after=result.retry_after,
                          reason=f"{result.reason} twilio {code}" if code else result.reason)

    def accepted(self) -> web.Response:
        """Twilio reads the answer as TwiML: an empty Response means "send nothing from here"."""
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")


def form_fields(body: bytes) -> list[tuple[str, str]]:
    """The POST parameters of a url-encoded UTF-8 body, in order, blanks kept (they are signed too)."""
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict",
                         max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None
    except ValueError:
        raise Rejected(400, f"more than {MAX_FIELDS} form fields") from None


def signature(token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Twilio's signature: the URL, then each parameter's name and value, sorted by name (then value,
    should a name repeat), HMAC-SHA1 under the auth token, base64.

    Without GATEWAY_PUBLIC_URL the URL comes from the Host header, where a byte that is not UTF-8
    arrives as a lone surrogate: it is signed as such ("surrogatepass"), so it matches nothing
    Twilio sends, and the request is refused (403) rather than failing (500)."""
    data = url + "".join(name + value for name, value in sorted(params))
    mac = hmac.new(token.encode("utf-8"), data.encode("utf-8", "surrogatepass"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def signed_urls(url: str) -> list[str]:
    """The URL, and the same URL with the scheme's default port written out or left off.

    Twilio does not sign both forms consistently (its own validators try both), and a proxy may
    give us either. Only the default port is toggled: another port is a different address."""
    parts = urlsplit(url)
    default = {"http": "80", "https": "443"}.get(parts.scheme)
    if default is None or not parts.netloc:
        return [url]
    userinfo, at, hostport = parts.netloc.rpartition("@")
    colon = hostport.rfind(":")
    if colon > hostport.rfind("]"):  # a port (after an IPv6 literal's bracket, if there is one)
        if hostport[colon + 1:] != default:
            return [url]
        other = hostport[:colon]
    else:
        other = f"{hostport}:{default}"
    return [url, urlunsplit(parts._replace(netloc=userinfo + at + other))]


def options(buttons: Sequence[Button], ascii_cut: bool) -> list[Button]:
    """The buttons to number: at most MAX_OPTIONS, titles cut to MAX_OPTION_TITLE characters.

    Their positions are kept, so the gateway's "2" -> second payload mapping still holds."""
    ellipsis = "..." if ascii_cut else "…"
    return [b if len(b.title) <= MAX_OPTION_TITLE
            else Button(b.title[: MAX_OPTION_TITLE - len(ellipsis)].rstrip() + ellipsis, b.payload)
            for b in buttons[:MAX_OPTIONS]]


def _loggable(value: str) -> str:
    """A status or type value for a log line: short, and only if it looks like one."""
    return value[:MAX_REASON_VALUE] if _PLAIN_VALUE.fullmatch(value[:MAX_REASON_VALUE]) else "(unreadable)"


def _error_code(body: bytes) -> int | None:
    try:
        data = load_json(body)
    except Rejected:
        return None
    code = data.get("code") if isinstance(data, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def from_env(env: Mapping[str, str]) -> Twilio | None:
    settings = TwilioSettings.from_env(env)
    return Twilio(settings) if settings else None
