"""The message sent at once to a person in danger: what to do now, in their language, the
provisions that protect them, and lines where a human can help.

After the guide and the directory are loaded, ``safety_message`` is pure: no file or network
access while someone is waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from knowledge import bidi
from knowledge.answers.phrases import language_name, phrases
from knowledge.content_check import LANGUAGE_CODE
from knowledge.safety.guide import SafetyGuide, default_guide
from knowledge.safety.hotlines import ANYWHERE, Hotline, HotlineDirectory, default_directory, normalise_country
from knowledge.states import default_states, status_line
from knowledge.vocab import ARTICLE_ID, FALLBACK_CATEGORY, FALLBACK_LANGUAGE, LANGUAGE_NAMES


@dataclass(frozen=True)
class SafetyMessage:
    """What to send now: text in the person's language, what it stands on, and who can help."""

    text: str
    citations: list[str]
    hotlines: list[Hotline]
    category: str
    lang: str


def normalise_language(lang: str | None) -> str:
    """``"es-MX"`` -> ``"es"``; anything unusable -> English."""
    code = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    return code if LANGUAGE_CODE.fullmatch(code) else FALLBACK_LANGUAGE


def safety_message(
    category: str,
    lang: str,
    country: str | None = None,
    directory: HotlineDirectory | None = None,
    guide: SafetyGuide | None = None,
) -> SafetyMessage:
    """The safety message for ``category``, in ``lang`` (English if not written in it).

    Never fails on its inputs, because it runs while someone is in danger: an unknown category gets
    the general "urgent" message, an unknown country only the lines that serve anywhere. The
    hotlines are still chosen by the person's own language, even when the text falls back to English.
    """
    guide = guide if guide is not None else default_guide()
    directory = directory if directory is not None else default_directory()
    category = category if category in guide.situations else FALLBACK_CATEGORY
    asked = normalise_language(lang)
    lang = guide.language_for(category, asked)
    situation = guide.situations[category]
    words = guide.labels[lang]
    content = situation.texts[lang]
    hotlines = [h.in_language(lang) for h in directory.choose(category, asked, normalise_country(country))]

    lines = [content.heading, *(f"{i}. {step}" for i, step in enumerate(content.steps, 1))]
    if lang != asked and asked in LANGUAGE_NAMES and "not_in_language" in words:  # say why not in theirs
        lines.insert(0, words["not_in_language"].format(language=LANGUAGE_NAMES[asked]))
    lines += ["", words["help"], *(_hotline_line(h, words, lang) for h in hotlines), ""]
    refs = guide.phrases.citation_labels(situation.citations, lang)
    force = _force(situation.citations, country, lang)
    lines.append(" ".join(filter(None, [content.rights, f"({refs})" if refs else "", force])))
    return SafetyMessage("\n".join(lines), list(situation.citations), hotlines, category, lang)


def _force(citations: tuple[str, ...] | list[str], country: str | None, lang: str) -> str:
    """What binds whom, after the rights: whether the Convention binds the person's country (or how
    many States it binds); for steps that cite only general comments (a child alone), that they are
    the Committee's interpretation, not binding law."""
    if any(ARTICLE_ID.match(c) for c in citations):
        return status_line(default_states().get(normalise_country(country)), lang)
    return phrases(lang)["comment_note"]


@dataclass(frozen=True)
class HelpLine:
    """Where to get help, for a situation that is not an emergency but needs help soon."""

    text: str
    button: str  # the title of the button that offers a person from the hotline
    lang: str


def help_line(lang: str, country: str | None = None, directory: HotlineDirectory | None = None,
              guide: SafetyGuide | None = None) -> HelpLine:
    """One line naming the best hotline for ``lang`` (no emergency services: it is not an
    emergency), in ``lang`` or the fallback language, and the words of the "talk to a person" button."""
    guide = guide if guide is not None else default_guide()
    directory = directory if directory is not None else default_directory()
    asked = normalise_language(lang)
    lang = asked if asked in guide.labels else FALLBACK_LANGUAGE
    words = guide.labels[lang]
    lines = [h.in_language(lang) for h in directory.choose(FALLBACK_CATEGORY, asked, normalise_country(country))
             if not h.emergency]
    text = words["help_soon"]
    if lines:
        text += " " + _hotline_line(lines[0], words, lang).removeprefix("- ")
    return HelpLine(text, words["person"], lang)


def _hotline_line(hotline: Hotline, words: Mapping[str, str], lang: str) -> str:
    """One hotline in ``lang``: numbers and Latin names isolated in right-to-left text, so that the
    digits a person sees are the digits to dial; the languages it speaks by name, not code."""
    ltr = lambda text: bidi.for_language(text, lang)  # noqa: E731
    parts = [ltr(hotline.phone)] if hotline.phone else []
    if hotline.whatsapp:
        parts.append(f"{words['whatsapp']} {ltr(hotline.whatsapp)}")
    if hotline.hours:
        parts.append(ltr(hotline.hours))
    if ANYWHERE not in hotline.languages:
        names = phrases(lang)["list_sep"].join(language_name(code, lang) for code in hotline.languages)
        parts.append(f"{words['languages']}{words['colon']}{names}")
    line = f"- {ltr(hotline.organisation)}{words['colon']}{words['group_sep'].join(parts)}"
    if hotline.note:
        line += f". {hotline.note}"
    if hotline.example:
        line += f" {words['example']}"
    return line
