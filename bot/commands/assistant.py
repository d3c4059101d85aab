"""Commands that run the whole assistant on this machine: prepare, train, run, and the Rasa
measurements (intent accuracy, reply latency)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bot.commands.knowledge import add_index_options, ready_retriever
from knowledge.settings import Settings


def cmd_prepare(args: argparse.Namespace) -> int:
    """Build the index and train the urgency model if either is missing or stale."""
    from knowledge.triage import UrgencyDetector

    retriever = ready_retriever(args, quiet=args.quiet)
    # trained here (cached outside the index) so that the action server's first answer is quick
    UrgencyDetector(retriever.embedder, folder=Settings.from_env().triage_dir).warm_up()
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from bot.runtime import train_if_changed

    trained = train_if_changed(force=args.force)
    print("trained bot/models/assistant.tar.gz" if trained else "the Rasa model is up to date")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Everything a newcomer needs: index, model, servers on 127.0.0.1, and where to chat.

    The heavy set-up runs in child processes, so this process stays small while it supervises
    the servers; their output goes to var/logs/ unless ``--verbose``."""
    from bot import runtime

    runtime.stop_on_sigterm()
    logs = runtime.log_dir()
    say = runtime.progress
    say("preparing the knowledge base (first time: about two minutes)")
    # its progress bar goes to the log, and run_logged sums it up on the terminal
    prepare = [sys.executable, "-m", "bot.cli", "prepare", "--embedder", args.embedder]
    if args.index_dir:
        prepare += ["--index-dir", args.index_dir]
    started = time.monotonic()
    runtime.run_logged(prepare, logs / "prepare.log", verbose=args.verbose)
    say(f"knowledge base ready ({time.monotonic() - started:.0f} s)")
    runtime.train_if_changed(log=None if args.verbose else logs / "train.log")
    say("starting the action server, the Rasa server"
        + ("" if args.no_gateway else " and the gateway") + f" on 127.0.0.1 (logs: {logs})")
    with runtime.servers(quiet=not args.verbose, gateway=not args.no_gateway, log_dir=logs) as running:
        ports = running.ports
        say("ready")
        if not args.no_gateway:
            print(f"  Web chat:  http://127.0.0.1:{ports.gateway}/chat  (open it in a browser)", file=sys.stderr)
        print(f"  REST:      POST http://127.0.0.1:{ports.rasa}/webhooks/rest/webhook "
              '{"sender": "me", "message": "hello"}', file=sys.stderr)
        if args.no_chat or not sys.stdin.isatty():
            print("  Ctrl-C stops every server.", file=sys.stderr)
            while True:
                time.sleep(3600)
        print("  Or chat here. Ctrl-D or Ctrl-C stops every server.", file=sys.stderr)
        runtime.chat(ports)
    return 0


def cmd_nlu_eval(args: argparse.Namespace) -> int:
    from bot import nlu_eval, runtime

    if not args.model:
        runtime.train_if_changed()
    model = Path(args.model) if args.model else runtime.model_path()
    report = nlu_eval.evaluate(model)
    for lang, row in report.items():
        print(f"{lang}: intent accuracy {row['accuracy']:.3f} (n={row['n']}) {row['confusions']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 0


def cmd_bench_bot(args: argparse.Namespace) -> int:
    from bot import bench, runtime

    ports = runtime.Ports.from_env()
    report = {"ours": bench.bench_ours(args.rounds, ports)}
    if not args.no_anchor:
        report["rasa_init_starter_bot"] = bench.bench_starter(args.rounds, ports)
    print(json.dumps(report, indent=2))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    prepare = sub.add_parser("prepare", help="build the index and train the urgency model if needed "
                             "(what the action server loads)")
    add_index_options(prepare)
    prepare.add_argument("--quiet", action="store_true", help="no progress bar")
    prepare.set_defaults(func=cmd_prepare)

    train = sub.add_parser("train", help="train the Rasa model if the bot data changed")
    train.add_argument("--force", action="store_true", help="train even if up to date")
    train.set_defaults(func=cmd_train)

    run = sub.add_parser("run", help="prepare and train if needed, start the servers on 127.0.0.1 "
                         "and chat in the terminal (Ctrl-C or SIGTERM stops every server)")
    add_index_options(run)
    run.add_argument("--no-chat", action="store_true", help="only run the servers")
    run.add_argument("--verbose", action="store_true", help="show the servers' logs here instead of var/logs/")
    run.add_argument("--no-gateway", action="store_true", help="do not start the channels gateway")
    run.set_defaults(func=cmd_run)

    nlu = sub.add_parser("nlu-eval", help="intent accuracy per language on held-out examples")
    nlu.add_argument("--model", help="a trained model (default: train bot/ if needed)")
    nlu.add_argument("--json", metavar="OUT", help="also write the report as JSON")
    nlu.set_defaults(func=cmd_nlu_eval)

    bench_bot = sub.add_parser("bench-bot", help="reply latency, throughput, memory and cold start "
                               "through the REST channel, against Rasa's starter bot")
    bench_bot.add_argument("--rounds", type=int, default=40, help="messages per conversation")
    bench_bot.add_argument("--no-anchor", action="store_true", help="skip the starter bot")
    bench_bot.set_defaults(func=cmd_bench_bot)


