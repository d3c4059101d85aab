"""What runs inside the Rasa server: the NLU components named in bot/config.yml and the tracker
store named in bot/endpoints.yml.

Importing any of them installs the action-result validator built once (``speedups``): Rasa
imports this package before the first plug-in it names, so the speed-up is in place whenever our
plug-ins are, and nowhere else (the action server and the gateway never import this package).
"""

from bot.plugins import speedups

speedups.install()
