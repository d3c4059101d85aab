"""The web chat: one small page served by the gateway, for people who have no messaging app
(channel.py: the channel; routes.py: its HTTP side; static/webchat.html: the page)."""
