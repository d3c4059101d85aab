"""Language identification for short chat messages.

Bare ``langdetect.detect`` guesses among 55 languages and is noisy on two to six words. What
helps, measured on the development set (``rights eval``):

1. The writing system decides most languages outright (Thai, Bengali, Han, Cyrillic, Arabic).
2. Within a script, langdetect only chooses among the languages the assistant supports.
3. A fixed seed makes the answer repeatable.
4. One to three everyday chat words ("hola", "merci beaucoup") are looked up in a small lexicon.
5. A conversation's language is sticky: a message of up to eight words whose guess is unsure
   (below 0.9) keeps the conversation's language (``_UNCERTAIN_MAX_WORDS``).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from knowledge.content_check import language_files, raise_problems
from knowledge.errors import KnowledgeError
from knowledge.settings import DATA_DIR
from knowledge.vocab import SUPPORTED_LANGUAGES

# Script -> candidate languages among SUPPORTED_LANGUAGES; a single candidate needs no statistics.
_SCRIPT_LANGS: dict[str, tuple[str, ...]] = {
    "THAI": ("th",),
    "BENGALI": ("bn",),
    "CJK": ("zh",),
    "HIRAGANA": ("zh",),
    "CYRILLIC": ("ru",),
    "ARABIC": ("ar", "ur"),
    "DEVANAGARI": ("hi", "ne"),
    "LATIN": ("en", "es", "fr", "pt", "id", "vi", "sw", "tl"),
}
_PROFILE_NAMES = {"zh": "zh-cn"}
# Roman Hindi and Roman Urdu are one way of writing the same everyday words ("mujhe salary nahi
# mili"): a romanized message read as one goes on in the other when the conversation is in it.
ROMAN_TWINS = {"hi": "ur", "ur": "hi"}
# A script's language when its neighbours' marker words are absent: Urdu always has some (ہے, کا,
# میں, نہیں; its letters ے ں ٹ are not Arabic's), so Arabic is what is left.
_SCRIPT_DEFAULT = {"ARABIC": "ar"}
_LEXICON_MAX_WORDS = 3
_STICKY_MIN_PROB = 0.90
# an uncertain guess on a message this short does not move a conversation to another language
# ("y si no tengo papeles" -> Tagalog 0.57 in a Spanish conversation)
_UNCERTAIN_MAX_WORDS = 8
# words of a romanized language's own list that make a Latin-script message that language (one is
# enough in a message of up to three words: "dhanyabad", "kina diyena")
ROMANIZED_MIN_WORDS = 2
# reasons a guess rests on the message's own words, trusted even on an opening message
_WORD_REASONS = ("marker words", "romanized words")


class LanguageDataError(KnowledgeError):
    """A language folder's words.yaml cannot be read."""


@cache
def _chat_words() -> dict[str, frozenset[str]]:
    raw = yaml.safe_load((DATA_DIR / "chat_words.yaml").read_text("utf-8"))
    return {lang: frozenset(str(w) for w in words) for lang, words in raw.items()}


@cache
def _iberian_words() -> dict[str, frozenset[str]]:
    raw = yaml.safe_load((DATA_DIR / "iberian_words.yaml").read_text("utf-8"))
    return {lang: frozenset(str(w) for w in words) for lang, words in raw.items()}


def spanish_or_portuguese(words: list[str], previous: str | None = None) -> str | None:
    """"es" or "pt" when at least two words belong to one of them only and none to the other; in a
    conversation already in one of them (``previous``), one of its words and none of the other's
    is enough ("borrar mis datos" in a Spanish conversation was read as Portuguese, 0.99999)."""
    lists = _iberian_words()
    es = sum(w in lists["es"] for w in words)
    pt = sum(w in lists["pt"] for w in words)
    need = {lang: 1 if lang == previous else 2 for lang in ("es", "pt")}
    if es >= need["es"] and pt == 0:
        return "es"
    if pt >= need["pt"] and es == 0:
        return "pt"
    return None


@cache
def _words_files() -> dict[str, dict]:
    """Each language folder's ``words.yaml``, read once and checked."""
    problems: list[str] = []
    found = language_files("words.yaml", problems)
    raise_problems("the language folders' words.yaml", problems, LanguageDataError)
    return found


@cache
def _folder_words() -> dict[str, dict[str, frozenset[str]]]:
    """``markers`` (words of its script that its script neighbours do not use) and ``romanized``
    (its words typed in Latin letters), with the endings of each, per language folder."""
    return {kind: {lang: frozenset(str(w).lower() for w in block.get(kind) or ())
                   for lang, block in _words_files().items()}
            for kind in ("markers", "romanized", "markers_endings", "romanized_endings", "markers_letters",
                         "romanized_letters")}


@cache
def _glosses() -> dict[str, dict[str, str]]:
    return {lang: {str(k).lower(): str(v) for k, v in (block.get("romanized_glosses") or {}).items()}
            for lang, block in _words_files().items()}


def own_words() -> frozenset[str]:
    """Every marker and romanized word the language folders list (lower case)."""
    lists = _folder_words()
    return frozenset(w for kind in ("markers", "romanized") for words in lists[kind].values() for w in words)


def _words(text: str) -> list[str]:
    return [w.strip(".,!?¿¡…:;()\"'।؟") for w in text.lower().split()]


def _romanized_language(words: list[str]) -> str | None:
    """The romanized language ``words`` are in: two of its own words, or one in a message of up to
    three words ("dhanyabad", "kina diyena")."""
    need = 1 if len(words) <= _LEXICON_MAX_WORDS else ROMANIZED_MIN_WORDS
    return _marked(words, tuple(_folder_words()["romanized"]), "romanized", need)


def glossed(text: str) -> str:
    """``text``, and when it is a romanized language with glosses (Roman Nepali), the English of
    its content words in brackets after it: the query the Convention is searched with. The
    encoder reads Roman Nepali poorly; "mero talab 3 mahina dekhi aayena" was not covered, with
    "(salary, not received not paid)" it finds pay."""
    words = _words(text)
    glosses = _glosses().get(_romanized_language(words) or "", {})
    found = list(dict.fromkeys(glosses[w] for w in words if w in glosses))
    return f"{text} ({', '.join(found)})" if found else text


def _is_marker(word: str, lang: str, kind: str) -> bool:
    """``word`` is one of ``lang``'s marker words, has one of its own letters (Urdu's ے, ی), or
    ends like one of its verb forms and postpositions ("गर्छन्", "छोरालाई"; "garchha", "malai") with a
    stem before the ending."""
    words = _folder_words()
    if word in words[kind].get(lang, ()) or any(ch in words[f"{kind}_letters"].get(lang, ()) for ch in word):
        return True
    return any(word.endswith(end) and len(word) >= len(end) + 2 for end in words[f"{kind}_endings"].get(lang, ()))


def _marked(words: list[str], candidates: tuple[str, ...], kind: str, at_least: int) -> str | None:
    """The one candidate with at least ``at_least`` of its marker words in ``words`` and more than
    any other candidate has."""
    lists = _folder_words()[kind]
    hits = sorted(((sum(_is_marker(w, lang, kind) for w in words), lang) for lang in candidates if lang in lists),
                  reverse=True)
    if not hits or hits[0][0] < at_least or (len(hits) > 1 and hits[1][0] >= hits[0][0]):
        return None
    return hits[0][1]


@dataclass(frozen=True)
class LanguageGuess:
    lang: str
    confidence: float
    reason: str


def _script_of(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return None
    for script in _SCRIPT_LANGS:
        if name.startswith(script) or (script == "CJK" and "IDEOGRAPH" in name):
            return script
    return None


def dominant_script(text: str) -> str | None:
    """The script of most of ``text``'s letters; but a message that mixes Latin letters with
    another script is in that script's language when at least a third of its words are written
    in it: English words are common in Bengali, Nepali or Arabic messages ("work permit দিয়ে কি
    মালিক বা company বদলাতে পারব?" was read as English, its vowel signs not being letters)."""
    counts: dict[str, int] = {}
    words: dict[str, int] = {}
    for word in text.split():
        scripts = {s for s in map(_script_of, word) if s}
        for ch in word:
            script = _script_of(ch)
            if script:
                counts[script] = counts.get(script, 0) + 1
        for script in scripts:
            words[script] = words.get(script, 0) + 1
    if not counts:
        return None
    best = max(counts, key=lambda s: counts[s])
    if best == "LATIN":
        other = max((s for s in words if s != "LATIN"), key=lambda s: words[s], default=None)
        if other is not None and 3 * words[other] >= sum(words.values()):
            return other
    return best


class LanguageIdentifier:
    """langdetect restricted per script to the supported languages, seeded and sticky."""

    def __init__(self, supported: tuple[str, ...] = SUPPORTED_LANGUAGES, default: str = "en"):
        unknown = set(supported) - set(SUPPORTED_LANGUAGES)
        if unknown:
            raise ValueError(f"no language profile for {sorted(unknown)}")
        self.supported = supported
        self.default = default
        self._factories: dict[tuple[str, ...], object] = {}

    def _factory(self, langs: tuple[str, ...]):
        factory = self._factories.get(langs)
        if factory is None:
            import langdetect
            from langdetect.detector_factory import DetectorFactory

            folder = Path(langdetect.__file__).parent / "profiles"
            factory = DetectorFactory()
            profiles = []
            for lang in langs:
                raw = json.loads((folder / _PROFILE_NAMES.get(lang, lang)).read_text("utf-8"))
                raw["name"] = lang
                profiles.append(json.dumps(raw))
            factory.load_json_profile(profiles)
            factory.set_seed(0)
            self._factories[langs] = factory
        return factory

    def identify(self, text: str, previous: str | None = None) -> LanguageGuess:
        """Guess the language of ``text``; ``previous`` is the conversation's language so far."""
        script = dominant_script(text)
        if script is None:
            return LanguageGuess(previous or self.default, 0.0, "no letters")
        candidates = tuple(lang for lang in _SCRIPT_LANGS[script] if lang in self.supported)
        if not candidates:
            return LanguageGuess(previous or self.default, 0.0, f"unsupported script {script}")
        words = _words(text)
        if script == "LATIN":
            # Nepali or Hindi typed in Latin letters ("mero passport sahu le rakhyo"): its own
            # words, which langdetect's Latin profiles do not know
            roman = _romanized_language(words)
            if roman in ROMAN_TWINS and previous == ROMAN_TWINS[roman]:
                roman = previous
            if roman in self.supported:
                return LanguageGuess(roman, 0.9, "romanized words")
        if len(candidates) == 1:
            return LanguageGuess(candidates[0], 1.0, f"script {script}")
        marked = _marked(words, candidates, "markers", 1)
        if marked is not None:
            # Nepali and Hindi share Devanagari; their function words differ ("छ" / "है"); so do
            # Urdu and Arabic ("ہے", "میں" / "في")
            return LanguageGuess(marked, 0.95, "marker words")
        if script in _SCRIPT_DEFAULT and _SCRIPT_DEFAULT[script] in candidates:
            return LanguageGuess(_SCRIPT_DEFAULT[script], 1.0, f"script {script}, no neighbour's words")
        if "es" in candidates and ("¿" in text or "¡" in text):
            # opening question and exclamation marks are Spanish only, among the languages we
            # support; langdetect read "¿y si no tengo papeles?" as Tagalog (0.99999)
            return LanguageGuess("es", 1.0, "Spanish punctuation")
        if len(words) <= _LEXICON_MAX_WORDS:
            known = [lang for lang in candidates if all(w in _chat_words().get(lang, ()) for w in words)]
            if len(known) == 1:
                return LanguageGuess(known[0], 1.0, "chat words")
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._factory(candidates).create()
        detector.append(text)
        try:
            ranked = detector.get_probabilities()
        except LangDetectException:
            return LanguageGuess(previous or candidates[0], 0.0, "too little text")
        best = ranked[0]
        if best.lang in ("es", "pt") and {"es", "pt"} <= set(candidates):
            # letter statistics confuse the two on short messages; their own words do not
            words_say = spanish_or_portuguese(words, previous)
            if words_say is not None and words_say != best.lang:
                return LanguageGuess(words_say, 0.9, "Spanish or Portuguese words")
        if best.lang in _folder_words()["markers"] and not any(_is_marker(w, best.lang, "markers") for w in words):
            # langdetect's pick has its own words (Indonesian, Tagalog) and none is here, while a
            # romanized language's is: "dubai ma driver ko kaam garchu" (Roman Nepali) read as
            # Indonesian and was answered in it
            roman = _marked(words, tuple(_folder_words()["romanized"]), "romanized", 1)
            if roman in self.supported:
                return LanguageGuess(roman, 0.8, "a romanized word, none of langdetect's language")
        if previous and best.lang != previous and (
            len(words) <= 2 or (previous in candidates and len(words) <= _UNCERTAIN_MAX_WORDS
                           and best.prob < _STICKY_MIN_PROB)
        ):
            # langdetect's probabilities are overconfident on one or two words ("ok" -> tl 0.99)
            return LanguageGuess(previous, best.prob, "too short to switch: kept conversation language")
        return LanguageGuess(best.lang, float(best.prob), f"langdetect among {','.join(candidates)}")


# A chosen language only gives way to a clear, longer message in another answer language.
SWITCH_MIN_WORDS = 5
SWITCH_MIN_CONFIDENCE = 0.99
SHORT_OPENING_WORDS = 3


class ConversationLanguage:
    """The language a conversation is answered in after each message: detected, sticky, or chosen.

    Answers exist in the corpus's complete languages (``answer_languages``); a message in another
    supported language is answered in English.
    """

    def __init__(self, answer_languages: tuple[str, ...], identifier: LanguageIdentifier | None = None):
        self.answer_languages = answer_languages
        self.identifier = identifier or LanguageIdentifier()
        # for very short first messages: "hola" could be Spanish or Tagalog; open in one we answer in
        self.opening = LanguageIdentifier(supported=answer_languages)

    def answer_language(self, lang: str | None) -> str:
        return lang if lang in self.answer_languages else "en"

    def after(self, text: str, current: str | None, chosen: bool = False) -> str:
        """The answer language once ``text`` arrives, given the conversation's ``current`` one
        and whether the person ``chosen`` it explicitly."""
        if not text or text.startswith("/"):  # a button payload says nothing about language
            return self.answer_language(current)
        if current is None and len(text.split()) <= SHORT_OPENING_WORDS:
            # a language we do not answer in stays recognised when its own words say so (Hindi
            # beside Nepali); otherwise a very short message opens in a language we answer in
            guess = self.identifier.identify(text)
            if guess.reason not in _WORD_REASONS:
                guess = self.opening.identify(text)
        else:
            guess = self.identifier.identify(text, previous=current)
        detected = self.answer_language(guess.lang)
        if current and chosen and detected != current:
            clear = (guess.lang in self.answer_languages and len(text.split()) >= SWITCH_MIN_WORDS
                     and guess.confidence >= SWITCH_MIN_CONFIDENCE)
            return detected if clear else current
        return detected
