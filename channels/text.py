"""Fitting replies into platform limits: clean splits, numbered options, SMS segments."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from channels.models import Button

# GSM 03.38 basic character set, and the extension table (each costs two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
# Per-segment capacity: one message alone, or each part of a concatenated message (UDH takes room).
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Where a text may be cut, cleanest first: paragraph, line, sentence end (Latin, Devanagari danda,
# CJK full stop, Arabic question mark, Urdu full stop), then any space.
BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?।。؟۔])\s+"), re.compile(r"\s+"))


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` (as ``measure`` counts), at the cleanest break:
    paragraph, line, sentence, then word; a word longer than the limit is cut."""
    text = text.strip()
    if measure(text) <= limit:
        return [text] if text else []
    for pattern in BREAKS:
        pieces = [p for p in pattern.split(text) if p.strip()]
        if len(pieces) < 2:
            continue
        joiner = "\n\n" if pattern is BREAKS[0] else ("\n" if pattern is BREAKS[1] else " ")
        parts: list[str] = []
        current = ""
        for piece in pieces:
            candidate = f"{current}{joiner}{piece}" if current else piece
            if measure(candidate) <= limit:
                current = candidate
                continue
            if current:
                parts.append(current)
            if measure(piece) <= limit:
                current = piece
            else:
                sub = split_text(piece, limit, measure)
                parts.extend(sub[:-1])
                current = sub[-1]
        if current:
            parts.append(current)
        return parts
    # one unbreakable run: cut it
    parts, current = [], ""
    for char in text:
        if current and measure(current + char) > limit:
            parts.append(current)
            current = ""
        current += char
    return [*parts, current] if current else parts


def numbered(text: str, buttons: Sequence[Button]) -> str:
    """Buttons as numbered lines under the text, for channels without buttons (SMS)."""
    if not buttons:
        return text
    options = "\n".join(f"{i}. {button.title}" for i, button in enumerate(buttons, start=1))
    return f"{text}\n\n{options}" if text else options


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in text)


def gsm7_length(text: str) -> int:
    """Septets ``text`` takes in GSM-7 (extension characters take two)."""
    return sum(2 if char in GSM7_EXTENDED else 1 for char in text)


def ucs2_length(text: str) -> int:
    """UTF-16 code units: a character outside the BMP (most emoji) takes two."""
    return len(text.encode("utf-16-le")) // 2


def _segments(text: str, gsm: bool) -> int:
    """Segments needed, packing whole characters: a two-unit character (an extension character
    in GSM-7, an emoji in UCS-2) never straddles two segments, as phones cannot split it."""
    sizes = [gsm7_length(char) if gsm else ucs2_length(char) for char in text]
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    if sum(sizes) <= single:
        return 1
    count, used = 1, 0
    for size in sizes:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count


def sms_segments(text: str) -> int:
    """How many SMS segments ``text`` needs: GSM-7 if every character allows it, else UCS-2."""
    return _segments(text, is_gsm7(text))


def split_sms(text: str, max_segments: int) -> list[str]:
    """Split ``text`` cleanly into messages of at most ``max_segments`` segments each.

    The encoding is decided on the whole text, as a phone would: one Arabic letter makes the
    whole message UCS-2, where a segment holds 67 characters instead of 153."""
    gsm = is_gsm7(text)
    return split_text(text, max_segments, lambda part: _segments(part, gsm))
