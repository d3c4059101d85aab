"""Right-to-left display: phone numbers and Latin fragments inside Arabic (or any right-to-left)
text, wrapped in Unicode isolates so that a phone shows them in the order they are dialled and read.

Without isolation the bidi algorithm reorders the groups of a number that follows Arabic text:
"واتساب +44 7700 900124" is shown as "900124 7700 44+" (the translation review saw it with FriBidi).
A left-to-right isolate (U+2066 ... U+2069) makes the run one neutral unit in the line and lays it
out left to right inside; the marks are invisible and change nothing in left-to-right text.
"""

from __future__ import annotations

import re

RTL_LANGUAGES = frozenset({"ar", "ur", "fa", "he"})
LRI, PDI = "\u2066", "\u2069"

# A run that starts and ends with a Latin letter, a digit, "+" or a bracket, and may hold the
# spaces and punctuation of phone numbers, times and names ("+44 7700 900123", "9:00-17:00",
# "Migrant-Rights.org").
_LTR_RUN = re.compile(r"[+(]?[0-9A-Za-z](?:[0-9A-Za-z .,:/()+\-@_&']*[0-9A-Za-z)])?")


def is_rtl(lang: str) -> bool:
    return lang in RTL_LANGUAGES


def isolate(text: str) -> str:
    """``text`` as one left-to-right isolate (empty stays empty)."""
    return f"{LRI}{text}{PDI}" if text else text


def isolate_ltr_runs(text: str) -> str:
    """Every run of Latin letters and digits (with the spaces and punctuation inside it) isolated.
    A bracket the run does not open or close stays outside: in "…آسٹریلیا میں 000)" the bracket
    closes the right-to-left sentence, and inside the isolate it showed between میں and 000."""
    return _LTR_RUN.sub(lambda m: _isolate_balanced(m.group(0)), text)


def _isolate_balanced(run: str) -> str:
    before = after = ""
    while run.endswith(")") and run.count(")") > run.count("("):
        run, after = run[:-1], ")" + after
    while run.startswith("(") and run.count("(") > run.count(")"):
        run, before = run[1:], before + "("
    return before + isolate(run) + after


def for_language(text: str, lang: str) -> str:
    """``text`` ready to sit inside a line of ``lang``: its Latin and digit runs isolated where
    ``lang`` is written right to left, unchanged otherwise."""
    return isolate_ltr_runs(text) if is_rtl(lang) else text
