"""Command line of the assistant: ``python -m bot <command>``.

Commands:
  generate [--check]   compile knowledge/ into Rasa training data (check: fail when stale)
  check                validate knowledge/ and run the editorial checks (errors: exit 1)
  build-spacy DIR      build the German spaCy pipeline (blank "de" + lookup lemmas)
  eval --questions F   evaluate the trained model (contract: shared/contracts.md section 1)
  eval-dialogues FILE  multi-turn conversations through Rasa and the action server (JSON last line)
  tune                 grid-search thresholds on the development set
  report               held-out evaluation of the model and both baselines → docs/benchmarks/nlu.md
  users create NAME    create a console user (--role agent|editor|admin)
  knowledge export     write the database's published topics to knowledge/topics (YAML)
  knowledge import     load knowledge/topics into the database (the running content store)
  run                  start every service on loopback (calculator, actions, Rasa, web app)
  run-prod             start the production profile on this machine (PostgreSQL, Redis, replicas)
  rasa-server          run Rasa with the production endpoints and the editors' live model
  retention            delete conversations, tickets, feedback and Rasa trackers older than
                       RETENTION_DAYS (--days N, --dry-run: only count)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bot.settings import REPO_ROOT, get_settings

DEFAULT_MODEL = "assistant.tar.gz"
# What `rasa-server` starts Rasa with (the production profile, docs/design/production.md).
RASA_CREDENTIALS = "credentials.yml"
RASA_ENDPOINTS = "endpoints.production.yml"


def _cmd_generate(args: argparse.Namespace) -> int:
    from bot.knowledge import load_knowledge
    from bot.nlu.generate import generate, stale, write

    kb = load_knowledge(get_settings().knowledge_dir)
    generated = generate(kb, REPO_ROOT)
    if args.check:
        outdated = stale(generated, REPO_ROOT)
        for rel in outdated:
            print(f"stale: {rel} (run `make generate`)", file=sys.stderr)
        return 1 if outdated else 0
    for rel in write(generated, REPO_ROOT):
        print(f"wrote {rel}")
    return 0


def _cmd_check(_: argparse.Namespace) -> int:
    from datetime import date

    from bot.content.checks import CheckResult, run_checks
    from bot.content.markdown import markdown_problems
    from bot.knowledge import KnowledgeError, load_knowledge
    from bot.web.site import site_paths

    settings = get_settings()
    try:
        kb = load_knowledge(settings.knowledge_dir)
    except KnowledgeError as exc:
        print(exc, file=sys.stderr)
        return 1
    results = run_checks(
        kb,
        today=date.today(),
        max_stand_age_days=settings.content_max_stand_age_days,
        site_paths=site_paths(),
    )
    # Raw HTML and unsafe link targets: what the editor UI reports while typing, as errors here.
    results += [
        CheckResult("markdown", "error", topic.id, problem, "answer")
        for topic in kb.topics.values()
        for problem in markdown_problems(topic.answer)
    ]
    errors = [r for r in results if r.severity == "error"]
    for result in sorted(results, key=lambda r: (r.severity != "error", r.topic_id)):
        path = kb.topics[result.topic_id].path or f"topics/{result.topic_id}.yml"
        print(
            f"{result.severity}: {path} field {result.field!r} [{result.code}]: {result.message}",
            file=sys.stderr if result.severity == "error" else sys.stdout,
        )
    questions = sum(len(t.questions) for t in kb.topics.values())
    summary = f"{len(kb.topics)} topics, {questions} questions, {len(kb.facts)} facts"
    warnings = len(results) - len(errors)
    if errors:
        print(f"failed: {len(errors)} errors, {warnings} warnings ({summary})", file=sys.stderr)
        return 1
    print(f"ok: {summary}, {warnings} warnings")
    return 0


def _cmd_build_spacy(args: argparse.Namespace) -> int:
    from bot.nlu.spacy_pipeline import build_pipeline

    print(f"built {build_pipeline(Path(args.target))}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation.evaluate import predict, rasa_parser
    from bot.evaluation.scoring import read_questions, score, write_predictions

    model = Path(args.model) if args.model else get_settings().model_dir / DEFAULT_MODEL
    if not model.exists():
        print(f"no trained model at {model}: run `make train` first", file=sys.stderr)
        return 2
    from bot.knowledge import load_knowledge

    questions = read_questions(Path(args.questions))
    kb = load_knowledge(get_settings().knowledge_dir)
    predictions = predict(questions, rasa_parser(model), kb)
    if args.out:
        write_predictions(Path(args.out), predictions)
    print(json.dumps(score(predictions), ensure_ascii=False))
    return 0


def _cmd_eval_dialogues(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from bot.evaluation import dialogues
    from bot.evaluation.servers import local_assistant

    conversations = dialogues.load(Path(args.file))
    token = args.token or os.environ.get("RASA_TOKEN")
    if args.rasa_url:
        servers = nullcontext((args.rasa_url, token))
    else:
        model = Path(args.model) if args.model else get_settings().model_dir / DEFAULT_MODEL
        if not model.exists():
            print(f"no trained model at {model}: run `make train` first", file=sys.stderr)
            return 2
        servers = local_assistant(model)  # type: ignore[assignment]

    def show(result: dialogues.TurnResult) -> None:
        if args.verbose or not result.strict:
            print(dialogues.describe(result))

    with servers as (url, rasa_token):
        results = dialogues.run(conversations, dialogues.RasaClient(url, rasa_token), show)
    print(dialogues.to_json(dialogues.summary(results, len(conversations))))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from bot.evaluation.report import write_report

    model = get_settings().model_dir / DEFAULT_MODEL
    summary = write_report(
        model=model,
        heldout=Path(args.questions),
        dev=Path(args.dev),
        target=Path(args.target),
    )
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from bot.evaluation.evaluate import rasa_parser
    from bot.evaluation.scoring import read_questions
    from bot.evaluation.tune import grid_search, raw_ranking

    questions = read_questions(Path(args.questions))
    parse = rasa_parser(get_settings().model_dir / DEFAULT_MODEL)
    rankings = [raw_ranking(parse(q.text)) for q in questions]
    for params, summary in grid_search(questions, rankings)[: args.top]:
        keys = ("accuracy", "accuracy_lenient", "in_scope_accuracy", "oos_rejection")
        print(json.dumps({**params, **{k: summary[k] for k in keys}}))
    return 0


def _cmd_users_create(args: argparse.Namespace) -> int:
    import getpass

    from bot.chat.db import create_schema, make_engine, make_sessionmaker
    from bot.web.security import generate_password
    from bot.web.users import set_user

    password = args.password or (
        getpass.getpass(f"password for {args.name} (empty: generate): ")
        if sys.stdin.isatty()
        else ""
    )
    generated = not password
    password = password or generate_password()
    engine = make_engine(get_settings().database_url)
    create_schema(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        set_user(
            session=session,
            username=args.name,
            role=args.role,
            display_name=args.display_name or args.name,
            password=password,
        )
        session.commit()
    print(
        f"user {args.name} ({args.role}) saved" + (f", password: {password}" if generated else "")
    )
    return 0


def _cmd_knowledge(args: argparse.Namespace) -> int:
    from bot.chat.db import create_schema, make_engine, make_sessionmaker
    from bot.content import repository as content
    from bot.knowledge import KnowledgeError

    settings = get_settings()
    directory = Path(args.dir).resolve() if args.dir else settings.knowledge_dir
    engine = make_engine(settings.database_url)
    create_schema(engine)
    with make_sessionmaker(engine).begin() as session:
        if args.knowledge_command == "export":
            from bot.content.sync import record_files

            changed = content.export_knowledge(session, directory)
            record_files(session, content.published_documents(session))  # they agree now
            for path in changed:
                print(f"wrote {path}")
            print(
                f"exported {len(content.published_documents(session))} topics "
                f"({len(changed)} files changed)"
            )
            return 0
        try:
            changed_topics = content.import_knowledge(
                session, directory, actor=content.Actor(None, "Kommandozeile")
            )
        except KnowledgeError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"imported {directory / 'topics'}: {changed_topics} topics changed")
    return 0


def _cmd_run_prod(_: argparse.Namespace) -> int:
    from bot.devserver import run_production

    return run_production()


def live_model() -> Path:
    """The model Rasa should serve: the editors' live one, else ``MODEL_DIR/assistant.tar.gz``.

    Only reads the database (the web app migrates it); unreachable or not migrated yet means
    the default model.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from bot.chat.db import make_engine, make_sessionmaker
    from bot.content.training import live_model_path

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            live = live_model_path(session)
    except SQLAlchemyError as exc:
        print(f"live model unknown ({type(exc).__name__}); using the default", file=sys.stderr)
        live = None
    finally:
        engine.dispose()
    return live or settings.model_dir / DEFAULT_MODEL


def _cmd_rasa_server(args: argparse.Namespace) -> int:
    from bot.observability.logs import quiet_dependency_warnings

    quiet_dependency_warnings()  # before anything imports rasa
    settings = get_settings()
    model = Path(args.model) if args.model else live_model()
    argv = [
        "rasa",
        "run",
        "--enable-api",
        "--interface",
        settings.bind_host,
        "--port",
        str(args.port),
        "--credentials",
        args.credentials,
        "--endpoints",
        args.endpoints,
        "--model",
        str(model),
    ]
    if settings.rasa_token:  # Rasa's HTTP API (trackers, PUT /model) then requires ?token=
        argv += ["--auth-token", settings.rasa_token]
    if settings.log_format == "json":
        # First thing, before Rasa is imported: the warnings its dependencies raise on import
        # become JSON lines. Rasa later installs coloredlogs' text handler before importing the
        # server's modules; our JSON handler goes in its place (the channel keeps it so).
        import logging

        from bot.observability.logs import configure_logging

        configure_logging("rasa", log_format="json")
        logging.getLogger(__name__).info("starting Rasa with %s", model)
        import rasa.utils.io

        rasa.utils.io.configure_colored_logging = lambda level: configure_logging(
            "rasa", log_format="json"
        )
    else:
        print(f"starting Rasa with {model}", file=sys.stderr, flush=True)
    import rasa.utils.common
    from rasa.__main__ import main as rasa_main

    # Rasa's own warning set-up puts "once" for every UserWarning in front of all filters, and
    # pyparsing's deprecation warnings are UserWarnings too: ours go back in front of it.
    rasa_filter_warnings = rasa.utils.common._filter_warnings

    def filter_warnings(log_level: int | None, warn_only_once: bool = True) -> None:
        rasa_filter_warnings(log_level, warn_only_once)
        quiet_dependency_warnings()

    rasa.utils.common._filter_warnings = filter_warnings

    sys.argv = argv
    rasa_main()
    return 0


def _cmd_retention(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import datetime, timezone

    from bot.chat.db import create_schema, make_engine
    from bot.chat.db import make_sessionmaker as sessions_of
    from bot.retention import RasaTrackers, run_retention

    settings = get_settings()
    days = settings.retention_days if args.days is None else args.days
    if days < 1:
        print("the retention period must be at least one day", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)

    async def run() -> int:
        trackers = None if args.dry_run else RasaTrackers.from_settings(settings)
        try:
            report = await run_retention(
                sessions_of(engine),
                trackers,
                days=days,
                now=datetime.now(timezone.utc),
                dry_run=args.dry_run,
            )
        finally:
            if trackers is not None:
                await trackers.close()
        print(report.summary())
        print(json.dumps(report.as_dict(), ensure_ascii=False))
        return 0

    try:
        create_schema(engine)  # the pending deletions' table on a database not migrated yet
        return asyncio.run(run())
    finally:
        engine.dispose()


def _cmd_run(args: argparse.Namespace) -> int:
    from bot.devserver import run_all

    return run_all(with_web=not args.rasa_only, log_dir=Path(args.log_dir).resolve())


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bot``."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="compile knowledge/ into Rasa training data")
    p.add_argument("--check", action="store_true", help="only report stale generated files")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("check", help="validate knowledge/")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("build-spacy", help="build the German spaCy pipeline")
    p.add_argument("target", nargs="?", default=str(get_settings().spacy_model_dir))
    p.set_defaults(func=_cmd_build_spacy)

    p = sub.add_parser("eval", help="evaluate the trained model on a TSV of questions")
    p.add_argument("--questions", required=True, help="TSV with header text<TAB>expected")
    p.add_argument("--out", help="write one prediction row per question to this TSV")
    p.add_argument("--model", help=f"model archive (default models/{DEFAULT_MODEL})")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("eval-dialogues", help="run multi-turn conversations, score the turns")
    p.add_argument("file", help="YAML of conversations (bot/evaluation/dialogues.py)")
    p.add_argument("--rasa-url", help="a running Rasa server (default: start one with the model)")
    p.add_argument("--token", help="its token (default: RASA_TOKEN)")
    p.add_argument("--model", help=f"model archive (default models/{DEFAULT_MODEL})")
    p.add_argument("-v", "--verbose", action="store_true", help="print every turn, not only misses")
    p.set_defaults(func=_cmd_eval_dialogues)

    p = sub.add_parser("report", help="evaluation report with baselines")
    p.add_argument("--questions", default="tests/nlu/blind.tsv")
    p.add_argument("--dev", default="tests/nlu/dev_realistic.tsv")
    p.add_argument("--target", default="docs/benchmarks/nlu.md")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("tune", help="grid-search the thresholds on the development set")
    p.add_argument("--questions", default="tests/nlu/dev.tsv")
    p.add_argument("--top", type=int, default=10)
    p.set_defaults(func=_cmd_tune)

    p = sub.add_parser("users", help="manage console users (agents, editors, admins)")
    users = p.add_subparsers(dest="users_command", required=True)
    p = users.add_parser("create", help="create a user or reset its password")
    p.add_argument("name")
    p.add_argument("--role", choices=["agent", "editor", "admin"], default="agent")
    p.add_argument("--display-name", help="shown to customers (a first name or alias)")
    p.add_argument("--password", help="default: ask, or generate and print one")
    p.set_defaults(func=_cmd_users_create)

    p = sub.add_parser("knowledge", help="move content between the database and knowledge/")
    knowledge = p.add_subparsers(dest="knowledge_command", required=True)
    for name, text in (
        ("export", "write the published topics to knowledge/topics as YAML (minimal diff)"),
        ("import", "load knowledge/topics into the database (changed topics get a new revision)"),
    ):
        k = knowledge.add_parser(name, help=text)
        k.add_argument("--dir", help="knowledge directory (default: KNOWLEDGE_DIR or knowledge/)")
        k.set_defaults(func=_cmd_knowledge)

    p = sub.add_parser("run", help="start the assistant's servers on loopback")
    p.add_argument("--rasa-only", action="store_true", help="only Rasa + action server")
    p.add_argument("--log-dir", default=str(REPO_ROOT / "build"),
                   help="where rasa.log, actions.log and calculator.log go (default: build/)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("run-prod", help="start the production profile on this machine")
    p.set_defaults(func=_cmd_run_prod)

    p = sub.add_parser("rasa-server", help="run Rasa with the editors' live model")
    p.add_argument("--port", type=int, default=5005)
    p.add_argument("--endpoints", default=RASA_ENDPOINTS)
    p.add_argument("--credentials", default=RASA_CREDENTIALS)
    p.add_argument("--model", help="default: the editors' live model, else models/assistant.tar.gz")
    p.set_defaults(func=_cmd_rasa_server)

    p = sub.add_parser("retention", help="delete personal data older than RETENTION_DAYS")
    p.add_argument("--days", type=int, help="retention period in days (default: RETENTION_DAYS)")
    p.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    p.set_defaults(func=_cmd_retention)

    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
