"""Which messages are read together with the previous question, and as what text.

A follow-up ("and my children?", "¿y si no tenemos papeles?") is short; the action server
searches it alone and joined to the previous question, and the joined reading usually wins
(``knowledge.answers.compose``). Rasa's featurizer embeds the joined text in parallel with the message
itself, so both use this module to agree on the exact text.
"""

from __future__ import annotations

from knowledge.answers.language import dominant_script

FOLLOW_UP_MAX_WORDS = 8
# The previous question as context is cut to its last words: when follow-ups chain ("and my
# wife?" after "and if I have no papers?"), each joined reading becomes the next context, and
# without a cap the text to embed would grow with every message.
CONTEXT_MAX_WORDS = 30
CONTEXT_MAX_CHARS = 200  # the same cap for scripts written without spaces

# Thai and Chinese are written without spaces between words: their length in words is
# estimated from letters (a Thai word is about five letters, a Chinese word about 1.6 characters).
_LETTERS_PER_WORD = {"THAI": 5.0, "CJK": 1.6, "HIRAGANA": 1.6}


def estimated_words(text: str) -> float:
    per_word = _LETTERS_PER_WORD.get(dominant_script(text) or "")
    if per_word is None:
        return len(text.split())
    return sum(ch.isalpha() for ch in text) / per_word


def is_follow_up(text: str) -> bool:
    """Short enough to be read with the previous question ("and my children?", "¿y mi esposa?")."""
    return estimated_words(text) <= FOLLOW_UP_MAX_WORDS


def follow_up_query(previous_question: str, text: str) -> str:
    """The previous question (its last words) followed by the message, whitespace normalised."""
    context = " ".join(previous_question.split()[-CONTEXT_MAX_WORDS:])[-CONTEXT_MAX_CHARS:]
    return " ".join(f"{context} {text}".split())
