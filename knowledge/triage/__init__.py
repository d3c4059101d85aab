"""Is the person in danger now? Urgency detection for chat messages in the fifteen languages.

A hotline triage aid must recognise "they are beating me" and "my brother is in the detention
centre since Monday, can they keep him?" in any supported language, and must not raise the alarm
for "my friend was arrested last year, what are the rules?". Two signals, combined:

1. Rules (``rules``, data in ``content/data/urgency_rules.yaml``): per-language regular expressions
   for unambiguous danger signals in the present tense, switched off by past or hypothetical
   markers. Rules fire even when the model is unsure, which is why they exist.
2. The model (``model``): a multinomial logistic regression on the E5 query vector, trained on
   ``content/data/urgent.yaml`` (``examples``), its threshold chosen for rules and model together.

``detector`` combines them at run time; ``evaluate`` measures them (``rights triage eval``).
"""

from knowledge.triage.detector import ASKING_THRESHOLD, Urgency, UrgencyDetector
from knowledge.triage.errors import TriageError
from knowledge.triage.examples import DATA_FILE, Example, load_examples
from knowledge.triage.model import MODEL_FILE, UrgencyModel, cache_key, train
from knowledge.triage.rules import RULES_FILE, LanguageRules, UrgencyRules, default_rules, match_rules

__all__ = [
    "ASKING_THRESHOLD", "DATA_FILE", "MODEL_FILE", "RULES_FILE", "Example", "LanguageRules", "TriageError", "Urgency",
    "UrgencyDetector", "UrgencyModel", "UrgencyRules", "cache_key", "default_rules", "load_examples", "match_rules",
    "train",
]  # fmt: skip
