"""The probes: one function per class of abuse (one line of the summary table), each a table of
requests and what must come of them once issue 12 is done.

A probe returns rows. Its verdict is ``pass`` when the gateway did what a hardened gateway must
(refuse a forgery, never answer 5xx, throttle a flood, keep identifiers out of the logs), ``FAIL``
for a finding that harms the service or a person, ``risk`` for a weakness the security report
ranked low or a behaviour kept by design (every operator sees every case). Everything goes to
the ``main`` deployment unless a probe needs the default limits (``limits``) or no public URL
(``nopublic``); see channels.abuse.lab.

One module per section of the report (auth, inputs, webchat, console, privacy; the floods are
channels.abuse.load's), and here the table the run goes through, in order.

Messages carry unique markers: a refused one must never reach the fake Rasa, an accepted one
exactly once (``Lab.refused`` / ``Lab.accepted``, checked by the last probe).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from channels.abuse.lab import Lab
from channels.abuse.probes import auth, common, console, inputs, privacy, webchat
from channels.abuse.report import Row

SECTIONS = common.SECTIONS


@dataclass(frozen=True)
class Probe:
    id: str
    section: str
    title: str
    run: Callable[[Lab], Awaitable[list[Row]]]


def _flood(name: str) -> Callable[[Lab], Awaitable[list[Row]]]:
    """A flood, measured by channels.abuse.load (imported when it runs)."""
    async def run(lab: Lab) -> list[Row]:
        from channels.abuse import load

        return await getattr(load, name)(lab)
    return run


PROBES: list[Probe] = [
    Probe("1.1", "auth", "WhatsApp/Messenger: signature missing, other key, cut, empty, sha1=, one digit, "
          "other body, body + 1 byte", auth.meta_forgeries),
    Probe("1.2", "auth", "Meta: a valid signature written SHA256=<upper-case hex>", auth.meta_case_changed),
    Probe("1.3", "auth", "Telegram: secret missing, empty, wrong, cut, upper-cased, one too long",
          auth.telegram_secrets),
    Probe("1.4", "auth", "Twilio: signature missing, wrong, cut, swap-cased, other params, other or own URL, "
          "http, param or query added", auth.twilio_forgeries),
    Probe("1.5", "auth", "Twilio: signed over host:443 (accepted); another AccountSid (refused)",
          auth.twilio_port_and_account),
    Probe("1.6", "auth", "Viber: signature missing, wrong, cut, other body; upper-case hex", auth.viber_signatures),
    Probe("1.7", "auth", "Replays on all 5 platforms and the web chat, a re-serialised Meta redelivery",
          auth.replays),
    Probe("1.8", "auth", "Meta handshake: wrong, missing, prefix token; wrong hub.mode", auth.handshake_refusals),
    Probe("1.9", "auth", "Meta handshake with the right token: <script> challenge, 300-char challenge",
          auth.handshake_echo),
    Probe("1.10", "auth", "Auth headers holding a 0xFF byte (no credential needed)", auth.non_utf8_auth_headers),
    Probe("2.1", "input", "Signed bodies: invalid JSON, not UTF-8, wrong shapes, empty; Twilio 301 fields, no "
          "MessageSid", inputs.signed_malformed),
    Probe("2.2", "input", "Deeply nested JSON, validly signed, 4 channels", inputs.deep_nesting_signed),
    Probe("2.3", "input", "Deeply nested JSON to the web chat (no credential needed)", inputs.deep_nesting_webchat),
    Probe("2.4", "input", "Bodies over the cap: 300 KB with Content-Length, 400 KB chunked", inputs.over_the_cap),
    Probe("2.5", "input", "gzip bombs on a webhook and the web chat, one at a time and four at once",
          inputs.gzip_bombs),
    Probe("2.6", "input", "Unicode: RTL override, zero-width, ZWJ emoji, astral, NUL, combining marks",
          inputs.unicode_intact),
    Probe("2.7", "input", "A lone surrogate (\\ud800) in a signed text or ID", inputs.lone_surrogates_signed),
    Probe("2.8", "input", "A lone surrogate in a web chat text (no credential needed)", inputs.lone_surrogate_webchat),
    Probe("2.9", "input", "WhatsApp: empty and whitespace-only text", inputs.blank_whatsapp),
    Probe("2.10", "input", "Telegram: empty and whitespace-only text", inputs.blank_telegram),
    Probe("2.11", "input", "Web chat: malformed requests of every kind", inputs.webchat_bad_requests),
    Probe("2.12", "input", "Web chat: a 100 KB text", inputs.webchat_large_text),
    Probe("2.13", "input", "Unknown channel; PUT on a webhook", inputs.unknown_routes),
    Probe("3.1", "webchat", "Web chat page headers", webchat.webchat_page_headers),
    Probe("3.2", "webchat", "Markup in web chat messages and the page's sinks", webchat.webchat_xss),
    Probe("3.3", "webchat", "CORS: a preflight and a mailbox read from another origin", webchat.webchat_cors),
    Probe("3.4", "webchat", "Cross-origin POSTs (evil, null, Sec-Fetch-Site, host-prefix trick)",
          webchat.webchat_cross_origin),
    Probe("3.5", "webchat", "Reading someone else's messages by guessing sessions", webchat.guessed_sessions),
    Probe("3.6", "webchat", "A weak session the client chose", webchat.weak_client_session),
    Probe("3.7", "webchat", "Rate limits: a burst from one session, from new sessions, polls",
          webchat.webchat_rate_limits),
    Probe("3.8", "flood", "A web chat flood from one address beside WhatsApp (Rasa at 22 msg/s)",
          _flood("webchat_flood")),
    Probe("3.9", "flood", "A web chat flood from many addresses beside WhatsApp (fairness)",
          _flood("webchat_flood_many")),
    Probe("4.1", "console", "Console pages and forms without signing in; a forged cookie",
          console.console_requires_login),
    Probe("4.2", "console", "Wrong password, unknown user (timing), reflected username", console.signin_refusals),
    Probe("4.3", "console", "Rapid wrong passwords for one account, then the right one", console.signin_throttling),
    Probe("4.4", "flood", "A sign-in flood beside WhatsApp (Rasa at 22 msg/s)", _flood("signin_flood")),
    Probe("4.5", "console", "CSRF on claim, reply, note, close, logout", console.console_csrf),
    Probe("4.6", "console", "A valid token from another site (Origin, Sec-Fetch-Site)", console.console_cross_site),
    Probe("4.7", "console", "Session cookie flags", console.cookie_flags),
    Probe("4.8", "console", "Session cookie flags with GATEWAY_PUBLIC_URL unset", console.cookie_without_public_url),
    Probe("4.9", "console", "Session fixation", console.session_fixation),
    Probe("4.10", "console", "Logout, and the old cookie afterwards", console.logout),
    Probe("4.11", "console", "Stored XSS in the console", console.console_xss),
    Probe("4.12", "console", "Another operator's claimed case; odd case ids", console.console_idor),
    Probe("4.13", "console", "Another operator reads and notes a claimed case", console.shared_queue),
    Probe("4.14", "console", "Open redirects", console.open_redirects),
    Probe("4.15", "console", "Security headers on console pages, errors and CSS", console.console_headers),
    Probe("4.16", "console", "Sign-in body not UTF-8, charset=bogus, odd cookies", console.console_bad_bytes),
    Probe("4.17", "console", "Login CSRF: a sign-in without the form's token", console.login_csrf),
    Probe("4.18", "console", "/metrics and /healthz on the public port", console.metrics_exposure),
    Probe("5.1", "privacy", "Addresses and sessions in the logs and database files", privacy.identifiers_at_rest),
    Probe("5.2", "privacy", "Message texts in the logs", privacy.texts_in_logs),
    Probe("5.3", "privacy", "Message texts at rest (case transcripts, web chat mailbox)", privacy.texts_at_rest),
    Probe("5.4", "privacy", "'Delete my data' after a case leaves nothing on disk", privacy.forget_after_case),
    Probe("5.5", "privacy", "Database file permissions", privacy.file_permissions),
    Probe("5.6", "privacy", "Telegram strings in the log are capped", privacy.telegram_log_lines),
    Probe("S.1", "summary", "Refused requests never reached Rasa; accepted ones reached it once",
          common.nothing_leaked),
]

def selected(only: set[str] | None) -> list[Probe]:
    """The probes a ``--only`` names (sections or ids); every probe when None."""
    if not only:
        return list(PROBES)
    chosen = [p for p in PROBES if p.section in only or p.id in only]
    if chosen and "summary" not in only:
        chosen.append(PROBES[-1])
    return [p for i, p in enumerate(chosen) if p not in chosen[:i]]
