"""Finding the country a message is about: "I work in Oman", "estoy en España", "أعمل في الكويت".

Names and the short forms people type come from ``states.yaml`` in every corpus language; a
message in any language may use any of them ("trabajo en Dubai", "ana fi UAE"). Matching is on a
folded form of the text (case, accents, Arabic hamza forms, taa marbuta and alif maqsura, tatweel),
with Arabic's attached prepositions ("بالسعودية", "للسعودية"). Short capitals ("US", "EAU") match only
as typed in capitals when their lower-case form is a word ("us", "eau"). A form the file marks
ambiguous ("Jordan", "Georgia") counts only after "in", "en", "في", "from"...; a form two States
claim ("عمان": Oman, and Amman in Jordan) never counts. When a message names two
countries, the one after such a word wins over one after "from", "soy de", "من" (where the person
is from), and the last one wins a tie: "soy de Honduras y trabajo en Estados Unidos" -> US.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from knowledge.states.directory import State, StatesDirectory, default_states

# Capitals whose lower-case form is an everyday word in a corpus language ("us", French "eau", Roman
# Hindi "rok": stop), and
# those that count in lower case only like an ambiguous name (Spanish "usa": "uses").
_WORD_LIKE = frozenset({"us", "eau", "eu", "ee", "el", "la", "le", "un", "una", "une", "al", "es", "ma", "rok"})
_LOWER_AMBIGUOUS = frozenset({"usa"})
# Words just before a country that say where the person is or works, and where they come from
# (Tagalog "sa", "nasa": in; "galing sa": from; Indonesian "di": in, "dari": from).
_AT = re.compile(r"(?:\b(?:in|at|to|en|au|aux|a|à|dans|fi|fel|fil|b|sa|nasa|di)\s+(?:(?:the|el|la|le|l'|los|les)\s*)?"
                 r"|(?:في|فى|ب|بال)\s*)$")
_FROM = re.compile(r"(?:\bfrom|\bsoy\s+de|\bvengo\s+de|\bsuis\s+(?:du|de|des|d')|\bviens\s+(?:du|de|des|d')"
                   r"|\bmen|\bmin|\bgaling\s+sa|\bdari|من)\s+(?:(?:the|el|la|le|l'|los|les)\s*)?$")
# A status question right after a name also tells a country from a word: "has jordan ratified", "واش المغرب صادق".
_STATUS_AFTER = re.compile(r"^\W*(?:\w+\s+)?(?:ratif|sign|firm|part|adher|accede|صادق|صدق|وقع|طرف|ملزم)")
_STATUS_BEFORE = re.compile(r"(?:\b(?:is|has|does|did|ha|est-ce que|هل|واش|wach)\s+)$")
# Nepali, Hindi and Bengali write "in", "from", "of" after a name and joined to it ("मलेसियामा",
# "মালয়েশিয়ায়": in Malaysia), or as the next word ("मलेशिया में", "বাংলাদেশ থেকে", "malaysia ma";
# Urdu too: "سعودی عرب میں", "پاکستان سے").
# Bengali's "in" is a vowel sign or a syllable joined to the name (কাতারে, সৌদিতে, মালয়েশিয়ায়),
# with য় typed precomposed or as য and its dot. Indic vowel signs are not word characters to
# Python, so a name is bounded by the whole block (नेपाल is not in नेपाली, Nepali).
_BENGALI_YA = ("\u09df", "\u09af\u09bc")
_POST_AT = ("मा", "मै", "भित्र", "में", "\u09c7", "তে", "এ", *_BENGALI_YA, *(ya + "\u09c7" for ya in _BENGALI_YA))
_POST_FROM = ("बाट", "देखि", "से", "থেকে")
_POSTPOSITIONS = tuple(sorted((*_POST_AT, *_POST_FROM, "को", "का", "की", "के", "लाई", "ले", "तिर", "सम्म",
                               "র", "ের", "এর"), key=len, reverse=True))
_AT_AFTER = re.compile(r"^\s+(?:ma|maa|mein|मा|में|میں)(?![\w\u0900-\u0dff])")
_FROM_AFTER = re.compile(r"^\s+(?:bata|baata|बाट|से|থেকে|theke|سے)(?![\w\u0900-\u0dff])")
_FOLD = str.maketrans({"ة": "ه", "ى": "ي", "ـ": None, "’": "'"})
# Typos: a run of words within this many edits of a name of at least FUZZY_MIN letters, same first
# letter ("soudi arabia", "malacia"), tried only when nothing matched exactly.
FUZZY_MIN = 6
FUZZY_LONG = 10  # names this long allow two edits


def fold(text: str) -> str:
    """Case, accents, Arabic short vowels and spelling variants folded away."""
    return _fold_with_positions(text)[0]


def _fold_with_positions(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the index of the character it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKD", ch):
            if unicodedata.combining(c):
                continue
            for f in c.casefold().translate(_FOLD):
                out.append(f)
                where.append(i)
    return "".join(out), where


_FOLDED_AT = frozenset(fold(p) for p in _POST_AT)
_FOLDED_FROM = frozenset(fold(p) for p in _POST_FROM)


@dataclass(frozen=True)
class Mention:
    """A country named in a message: where, and whether as the place the person is from."""

    iso: str
    start: int
    end: int
    at: bool  # after "in", "en", "في"...: where the person is
    origin: bool  # after "from", "soy de", "من"...


class CountryFinder:
    """The countries a message names, from a States directory's names, short forms and cities."""

    def __init__(self, states: StatesDirectory):
        self.states = states
        claims: dict[str, set[str]] = {}
        exact: dict[str, str] = {}
        self._ambiguous: set[tuple[str, str]] = set()
        for state in states.states:
            for _lang, forms in (*state.names.items(), *state.cities.items()):
                for form in forms:
                    key = fold(form).strip()
                    if form.isupper() and len(form) <= 4 and form.isascii():
                        exact[form] = state.iso
                        if key in _WORD_LIKE:
                            continue
                        if key in _LOWER_AMBIGUOUS:
                            self._ambiguous.add((key, state.iso))
                    if len(key) >= 2:
                        claims.setdefault(key, set()).add(state.iso)
                    if key.startswith("ال"):  # "للسعوديه": "to" with the article's alif dropped
                        claims.setdefault("لل" + key[2:], set()).add(state.iso)
            for forms in state.ambiguous.values():
                self._ambiguous.update((fold(f).strip(), state.iso) for f in forms)
        # a form two States claim ("عمان": Oman, and Amman in Jordan) cannot tell them apart
        folded = {key: next(iter(isos)) for key, isos in claims.items() if len(isos) == 1}
        self._iso = folded
        self._by_first: dict[str, list[str]] = {}
        for key in folded:
            if len(key) >= FUZZY_MIN and (key, folded[key]) not in self._ambiguous:
                self._by_first.setdefault(key[0], []).append(key)
        # forms written with their short vowels, matched as typed before folding
        self._marked = {f: s.iso for s in states.states for forms in s.names.values() for f in forms
                        if any(unicodedata.combining(c) and "\u0610" <= c <= "\u065f" for c in f)}
        self._exact = exact
        self._folded = _pattern(folded)
        self._capitals = re.compile(
            r"(?<![A-Za-z])(" + "|".join(sorted(map(re.escape, exact), key=len, reverse=True)) + r")(?![A-Za-z])"
        ) if exact else None

    def mentions(self, text: str) -> list[Mention]:
        """Every country named in ``text``, in order (positions in ``text``)."""
        folded, where = _fold_with_positions(text)
        found: list[Mention] = []
        for m in self._folded.finditer(folded):
            key = re.sub(r"\s+", " ", m.group("name"))
            iso = self._iso[key]
            mention = _mention(iso, where[m.start("name")], where[m.end("name") - 1] + 1, folded[: m.start()])
            if any(c in "بل" for c in m.group("clitic") or ""):  # "بالسعودية": in Saudi Arabia
                mention = Mention(mention.iso, mention.start, mention.end, True, mention.origin)
            post, after = m.group("post") or "", folded[m.end():]
            if post in _FOLDED_AT or _AT_AFTER.search(after):  # "कतारमा", "qatar ma": in Qatar
                mention = Mention(mention.iso, mention.start, mention.end, True, mention.origin)
            if post in _FOLDED_FROM or _FROM_AFTER.search(after):  # "नेपालबाट", "nepal bata": from Nepal
                mention = Mention(mention.iso, mention.start, mention.end, mention.at, True)
            status = bool(_STATUS_BEFORE.search(folded[: m.start()]) or _STATUS_AFTER.search(folded[m.end():]))
            if (key, iso) in self._ambiguous and not (mention.at or mention.origin or status):
                continue
            found.append(mention)
        if self._capitals is not None:
            taken = [(f.start, f.end) for f in found]
            for m in self._capitals.finditer(text):
                if not any(s <= m.start() < e for s, e in taken):
                    found.append(_mention(self._exact[m.group(1)], m.start(), m.end(), fold(text[: m.start()])))
        for form, iso in self._marked.items():  # "عُمان" typed with its vowel is Oman, not Amman
            start = text.find(form)
            if start >= 0 and not any(f.start <= start < f.end for f in found):
                found.append(_mention(iso, start, start + len(form), fold(text[:start])))
        if not found:
            found = self._fuzzy(folded, where)
        return sorted(found, key=lambda f: f.start)

    def without_countries(self, text: str) -> str:
        """``text`` with the countries it names taken out, for searching the Convention: "trabajo en
        España, mi jefe no me paga" matched project-tied work (art. 61) on "work in [a country]"
        instead of pay (art. 25). The country still counts: the answer says whether it is bound."""
        found = self.mentions(text)
        if not found:
            return text
        kept, at = [], 0
        for mention in found:
            kept.append(text[at: mention.start])
            at = max(at, mention.end)
        kept.append(text[at:])
        return " ".join("".join(kept).split())

    def _fuzzy(self, folded: str, where: list[int]) -> list[Mention]:
        words = list(re.finditer(r"\w+", folded))
        found = []
        common = _function_words()
        for size in (3, 2, 1):
            for i in range(len(words) - size + 1):
                first, last = words[i], words[i + size - 1]
                if any(w.group(0) in common for w in words[i: i + size]):
                    continue  # "malai" (Nepali: to me) is not a typo of Malawi
                span = " ".join(w.group(0) for w in words[i: i + size])
                for key in self._by_first.get(span[0], ()):
                    if key.count(" ") + 1 == size and abs(len(key) - len(span)) <= 2 \
                            and _within(span, key, 2 if len(key) >= FUZZY_LONG else 1):
                        found.append(_mention(self._iso[key], where[first.start()], where[last.end() - 1] + 1,
                                              folded[: first.start()]))
                        break
            if found:
                return found
        return found

    def find(self, text: str) -> State | None:
        """The country the message is about: where the person is rather than where they come from,
        else the last named; None when it names none."""
        found = self.mentions(text)
        if not found:
            return None
        best = max(enumerate(found), key=lambda p: (p[1].at and not p[1].origin, not p[1].origin, p[0]))[1]
        return self.states.get(best.iso)


def _mention(iso: str, start: int, end: int, before: str) -> Mention:
    """A mention, with what the folded text ``before`` it says: where the person is, or is from."""
    return Mention(iso, start, end, bool(_AT.search(before)), bool(_FROM.search(before)))


def _within(a: str, b: str, limit: int) -> bool:
    """Whether ``a`` is at most ``limit`` insertions, deletions, substitutions or swaps of
    neighbours away from ``b`` (optimal string alignment, stopping early)."""
    if abs(len(a) - len(b)) > limit:
        return False
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if min(row) > limit:
            return False
        prev2, prev = prev, row
    return prev[-1] <= limit


def _pattern(names: dict[str, str]) -> re.Pattern[str]:
    """One alternation of every folded name, longest first, as whole words; Arabic names also with an
    attached "و" "ف" "ب" "ل" "ك" (and "لل" for a name with the article: "للسعوديه")."""
    alternatives = [r"\s+".join(map(re.escape, key.split())) for key in sorted(names, key=len, reverse=True)]
    return re.compile(r"(?<![\w\u0900-\u0dff])(?:(?P<clitic>[وف][بلك]?|[بلك])(?=[\u0600-\u06ff]))?(?P<name>"
                      + "|".join(alternatives) + r")(?P<post>" + "|".join(re.escape(fold(p)) for p in _POSTPOSITIONS)
                      + r")?(?![\w\u0900-\u0dff])")


@cache
def _function_words() -> frozenset[str]:
    """The words language folders list as their own (``words.yaml``): never read as a misspelt
    country ("malai", Nepali for "to me", is one edit from Malawi)."""
    from knowledge.answers.language import own_words

    return frozenset(fold(w) for w in own_words())


@cache
def default_finder() -> CountryFinder:
    return CountryFinder(default_states())


def find_country(text: str) -> State | None:
    """The country ``text`` is about, from the bundled States file (None when it names none)."""
    return default_finder().find(text)


def question_text(text: str) -> str:
    """What a message asks, without the countries it names (the text itself when that is all it
    says), romanized words glossed in English (``knowledge.answers.language.glossed``): the text
    the Convention is searched with and the urgency model reads."""
    from knowledge.answers.language import glossed

    return glossed(default_finder().without_countries(text) or text)
