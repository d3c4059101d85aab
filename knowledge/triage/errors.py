"""The triage package's one error."""

from __future__ import annotations

from knowledge.errors import KnowledgeError


class TriageError(KnowledgeError):
    """The urgency data, the rules or a cached urgency model is malformed, or the detector was misused."""
