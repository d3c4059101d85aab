"""The safety package's one error."""

from __future__ import annotations

from knowledge.errors import KnowledgeError


class SafetyError(KnowledgeError):
    """The safety content or the hotline directory is malformed; the message lists every problem."""
