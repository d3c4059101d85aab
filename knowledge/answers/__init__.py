"""Answers: the reply composed from search results, follow-ups and the conversation's language."""
