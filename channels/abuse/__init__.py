"""The abuse run: the security report's probes, load and fault runs, replayed against a real gateway.

``python -m channels.abuse`` (or ``rights abuse``) starts gateways on 127.0.0.1 as subprocesses
(``python -m channels``, every channel enabled with fake credentials), a fake Rasa and a fake
platform API in its own process, sends every probe and load run (bounded in count and time),
and prints the tables: one line per probe class, the load and fault runs, the floods, the totals.
``--short`` is the CI version (tests/channels/test_abuse.py).

    signing   webhooks as each platform signs them      fakes    the fake Rasa and platform API
    gateway   gateway processes: start, SIGTERM, SIGKILL lab      what the probes share
    client    HTTP, raw bytes, web chat, console         probes   one function per probe class
    load      the load and fault runs, and the floods    report   rows, tables and totals
    cli       the command line
"""
