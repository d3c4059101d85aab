"""Safety information for a person in an urgent situation, and the hotlines to give with it.

When someone writes in danger, the assistant must answer at once, in their language, with what to
do now, the Convention provisions that protect them, and a line where a human can help:

* ``guide``: the steps per urgency category and language (``content/data/safety.yaml``, written by
  the project, with citation IDs);
* ``hotlines``: the directory an NGO edits (``content/data/hotlines.yaml``) and the choice of lines
  for one person;
* ``message``: the message itself, with citations named as in answers (``knowledge/answers/phrases``).

Both files are validated as a whole when loaded and every problem is reported at once
(``knowledge/content_check``).
"""

from knowledge.safety.errors import SafetyError
from knowledge.safety.guide import (
    CATEGORIES,
    LANGUAGES,
    MAX_STEP_CHARS,
    MAX_STEPS,
    MIN_STEPS,
    SAFETY_FILE,
    SafetyGuide,
    SafetyText,
    Situation,
    default_guide,
)
from knowledge.safety.hotlines import (
    ANYWHERE,
    HOTLINES_FILE,
    ISO_COUNTRIES,
    MAX_HOTLINES,
    Hotline,
    HotlineDirectory,
    default_directory,
    normalise_country,
)
from knowledge.safety.message import HelpLine, SafetyMessage, help_line, normalise_language, safety_message

__all__ = [
    "ANYWHERE",
    "CATEGORIES",
    "HOTLINES_FILE",
    "ISO_COUNTRIES",
    "LANGUAGES",
    "MAX_HOTLINES",
    "MAX_STEPS",
    "MAX_STEP_CHARS",
    "MIN_STEPS",
    "SAFETY_FILE",
    "HelpLine",
    "Hotline",
    "HotlineDirectory",
    "SafetyError",
    "SafetyGuide",
    "SafetyMessage",
    "SafetyText",
    "Situation",
    "default_directory",
    "default_guide",
    "help_line",
    "normalise_country",
    "normalise_language",
    "safety_message",
]  # fmt: skip
