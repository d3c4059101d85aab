"""Rasa custom actions: thin translations between Rasa's tracker and the knowledge package."""
