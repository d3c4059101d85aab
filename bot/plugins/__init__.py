"""What runs inside the Rasa server: the NLU components named in bot/config.yml and the tracker
store named in bot/endpoints.yml. Nothing outside the Rasa server imports these modules (the
action server and the gateway never do; a test checks it).

Both the featurizer and the tracker store install the action-result validator built once
(``speedups.install``, idempotent) when Rasa creates them, so the speed-up does not depend on
which of the two a configuration keeps.
"""
