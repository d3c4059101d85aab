"""The messaging platforms, one module each: its limits as named data with links to the
platform's docs, its settings (``<Platform>Settings.from_env``), verification, parsing, rendering
and sending. Adding a platform is one module here, one line in channels/registry.py, one test
file in tests/channels/platforms/ and one folder of recorded payloads in tests/channels/testdata/.
"""
