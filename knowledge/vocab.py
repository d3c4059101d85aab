"""The words several parts of the system must agree on, defined once: languages, urgency
categories with their severity, and the shape of citation IDs.

Other modules import these names instead of keeping their own lists (the code review found four
language lists and three category lists that had started to drift). Human-readable labels for
citations are content and live in ``content/data/phrases.yaml``.
"""

from __future__ import annotations

import re

# --- languages ---------------------------------------------------------------------------------

# Languages with complete content (corpus, safety texts, responses): answers come in one of these.
COMPLETE_LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "ar", "ne", "bn", "ur", "tl", "id")
# Languages the assistant recognises in a message (answers fall back to English outside the above).
SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "en", "es", "fr", "ar", "pt", "id", "th", "zh", "vi", "sw", "hi", "tl", "ru", "bn", "ne", "ur",
)  # fmt: skip
# Languages a corpus file may be written in (an NGO may add partial translations in these).
KNOWN_LANGUAGES: frozenset[str] = frozenset(
    "en es fr ar pt id th zh vi sw hi tl ru bn ne ur fa am ti my km si ta uk ro it de".split()
)
FALLBACK_LANGUAGE = "en"
# Languages written in Latin letters; in any other language, a text mostly in Latin letters is that
# language romanized ("mero passport sahu le rakhyo": Nepali).
LATIN_SCRIPT_LANGUAGES: frozenset[str] = frozenset("en es fr pt id vi sw tl ro it de".split())


def romanized(text: str, lang: str) -> bool:
    """Whether ``text`` is ``lang`` typed in Latin letters (a language written in another script)."""
    letters = [c for c in text if c.isalpha()]
    latin = sum(c.isascii() for c in letters)
    return lang not in LATIN_SCRIPT_LANGUAGES and bool(letters) and latin > len(letters) / 2


def answer_language(lang: str | None) -> str:
    """The language an answer is written in for a person writing ``lang``."""
    return lang if lang in COMPLETE_LANGUAGES else FALLBACK_LANGUAGE


# --- writing -----------------------------------------------------------------------------------

# Where a sentence ends, in the scripts of the supported languages: . ! ? and the Devanagari
# danda, the ideographic full stop, the Arabic question mark and the Urdu full stop (channels/text.py
# splits long replies on the same set; the gateway keeps its own copy, as it imports nothing here).
SENTENCE_END = re.compile(r"(?<=[.!?।。؟۔])\s+")


# --- urgency -----------------------------------------------------------------------------------

# The situations triage can name, most severe first within each rank.
URGENCY_CATEGORIES: tuple[str, ...] = (
    "detention", "documents", "locked_in", "trafficking", "violence", "medical", "child_alone",
    "deportation", "self_harm",
)  # fmt: skip
# An emergency of unknown kind (safety steps exist for it too; the detector never names it).
FALLBACK_CATEGORY = "urgent"
# How a hotline orders its queue: a higher number is seen first. A plain request for a person
# (no urgency) ranks below every urgent category.
SEVERITY: dict[str, int] = {
    "self_harm": 9, "medical": 9, "violence": 8, "trafficking": 8, "locked_in": 8, "child_alone": 8,
    "detention": 7, "deportation": 7, "documents": 6, FALLBACK_CATEGORY: 6,
}  # fmt: skip
REQUEST_SEVERITY = 1
# Common non-emergencies that still need help soon (a passport kept by the employer, wages unpaid
# for months, a permit ended or ending): near-miss topics of the urgency data. No alarm and no
# case; the answer adds where to get help and offers a person.
SOON_TOPICS: tuple[str, ...] = ("kept_passport", "wages", "overstay", "permit_expiring")
# What a hotline's staff read instead of the codes.
CATEGORY_NAMES: dict[str, str] = {
    "detention": "Detention", "documents": "Documents taken", "locked_in": "Locked in",
    "trafficking": "Trafficking or forced labour", "violence": "Violence", "medical": "Medical emergency",
    "child_alone": "Child alone", "deportation": "Imminent deportation", "self_harm": "Self-harm",
    FALLBACK_CATEGORY: "Danger (kind not known)",
}  # fmt: skip
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "es": "Spanish", "fr": "French", "ar": "Arabic", "pt": "Portuguese", "id": "Indonesian",
    "th": "Thai", "zh": "Chinese", "vi": "Vietnamese", "sw": "Swahili", "hi": "Hindi", "tl": "Tagalog",
    "ru": "Russian", "bn": "Bengali", "ne": "Nepali", "ur": "Urdu", "fa": "Persian", "am": "Amharic",
    "ti": "Tigrinya", "my": "Burmese", "km": "Khmer", "si": "Sinhala", "ta": "Tamil", "uk": "Ukrainian",
    "ro": "Romanian", "it": "Italian", "de": "German",
}  # fmt: skip

# --- citation IDs (DESIGN.md, "Citation IDs") --------------------------------------------------

ICRMW_ARTICLES = 93
# A word that names an article in a message ("article 30", "art. 21", "artículo", "المادة", "第16条"):
# a number alone in a sentence ("not paid for 3 months") does not ask for an article.
ARTICLE_WORD = re.compile(r"\b(?:art(?:icle|[ií]culo|igo|ikulo|s?\.)?|статья|ст\.|madde|pasal|điều"
                          r"|anuch(?:c?h)?h?ed)(?!\w)|المادة|مادة"
                          r"|مادّة|第\s*[0-9]+\s*条|มาตรา|अनुच्छेद|धारा|ধারা|অনুচ্ছেদ|آرٹیکل|دفعہ", re.IGNORECASE)
ARTICLE_ID = re.compile(r"icrmw:art(\d+)")
COMMENT_ID = re.compile(r"cmw-gc(\d+)")
GENERAL_COMMENTS: tuple[str, ...] = ("cmw-gc1", "cmw-gc2", "cmw-gc3", "cmw-gc4", "cmw-gc5")
# Namespaces whose IDs have two parts before any section: icrmw:art21, sdg:10.7, local:hotline
TWO_PART_NAMESPACES = frozenset({"icrmw", "sdg", "seed", "local"})
# Documents that give context but are not the Convention or the Committee's comments.
BACKGROUND_NAMESPACES = frozenset({"seed", "sdg", "gcm"})


def document_id(citation_id: str) -> str:
    """The document a citation belongs to: ``cmw-gc2:para12`` -> ``cmw-gc2``; the evaluation
    compares at this level."""
    parts = citation_id.split(":")
    keep = 2 if parts[0] in TWO_PART_NAMESPACES else 1
    return ":".join(parts[:keep])


def is_background(citation_id: str) -> bool:
    return citation_id.split(":", 1)[0] in BACKGROUND_NAMESPACES
