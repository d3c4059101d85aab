"""Which States the Convention binds, and which country a message is about.

``directory``: every State's status, dated and sourced (``content/data/states.yaml``);
``mentions``: the country named in a message, in any corpus language; ``lines``: the sentence on
what binds whom that every Convention answer carries, and the direct answers to "has X ratified?",
"how many?" and "which countries?".
"""

from knowledge.states.directory import Day, State, StatesDirectory, StatesError, default_states
from knowledge.states.lines import (
    binding_lines,
    count_answer,
    declaration_lines,
    format_day,
    list_answer,
    ratification_ask,
    status_answer,
    status_line,
)
from knowledge.states.mentions import CountryFinder, Mention, default_finder, find_country, question_text

__all__ = [
    "CountryFinder", "Day", "Mention", "State", "StatesDirectory", "StatesError", "binding_lines", "count_answer",
    "declaration_lines", "default_finder", "default_states", "find_country", "format_day", "list_answer",
    "question_text", "ratification_ask", "status_answer", "status_line",
]
