"""The `meetings` command."""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from core import db
from core.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent

DEMO_QUERY = """{
  viewer { account { displayName } credits { available blocked } }
  meetings(role: ANY, upcoming: true, first: 10) {
    totalCount
    edges { node { id status startsAt availableActions expert { displayName }
      alternative { startsAt proposedBy } timeline { label at } } }
  }
}"""


def _run(work: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await db.init_db(get_settings().database_url)
        try:
            await work()
        finally:
            await db.close_db()

    asyncio.run(main())


async def prepare() -> None:
    """Migrations and reference data: what every start needs."""
    from app.seed import seed_reasons

    settings = get_settings()
    await db.migrate(settings.database_url)
    await db.close_db()
    await db.init_db(settings.database_url)
    await seed_reasons()


def print_tokens() -> None:
    from app.auth import make_token
    from app.seed import DEMO_ADMIN, DEMO_EXPERT, DEMO_USER

    settings = get_settings()
    print("Demo tokens (send as `Authorization: Bearer <token>`):")
    print(f"  expert: {make_token(settings, DEMO_EXPERT[0], name=DEMO_EXPERT[1])}")
    print(f"  user:   {make_token(settings, DEMO_USER[0], name=DEMO_USER[1])}")
    print(f"  admin:  {make_token(settings, DEMO_ADMIN, name='Ada Admin', admin=True)}")
    print("A query to paste into GraphiQL (with the user's token in the Headers tab):")
    print(DEMO_QUERY)


def cmd_migrate(_: argparse.Namespace) -> None:
    async def work() -> None:
        await db.close_db()
        await prepare()

    _run(work)
    print("migrations applied")


def cmd_demo(_: argparse.Namespace) -> None:
    from app.seed import seed_demo

    async def work() -> None:
        await db.close_db()
        await prepare()
        created = await seed_demo()
        print("demo data created" if created else "demo data already present")

    _run(work)
    print_tokens()


def cmd_sweep(_: argparse.Namespace) -> None:
    from resolvers.system import sweep

    async def work() -> None:
        print(await sweep())

    _run(work)


def cmd_worker(args: argparse.Namespace) -> None:
    from workers.main import run_worker

    run_worker(threads=args.threads)


def cmd_token(args: argparse.Namespace) -> None:
    from app.auth import make_token

    print(make_token(get_settings(), args.sub, name=args.name, admin=args.admin))


def cmd_export_schema(args: argparse.Namespace) -> None:
    from app.schema import schema

    text = schema.as_str() + "\n"
    if args.check:
        current = (ROOT / "schema.graphql").read_text()
        if current != text:
            sys.exit("schema.graphql is out of date: run `meetings export-schema`")
        return
    (ROOT / "schema.graphql").write_text(text)
    print("wrote schema.graphql")


def frozen_enums(source: str) -> str:
    """A migration's text with its imports of the project's enums replaced by their values
    written out: a migration must keep meaning what it meant when it was written."""
    import importlib
    import re

    found = re.findall(r"^from ((?:models|core)\.\w+) import (.+)$", source, re.M)
    lines = []
    for module_name, names in found:
        module = importlib.import_module(module_name)
        for name in (n.strip() for n in names.split(",")):
            members = "".join(f'\n    "{m.name}": "{m.value}",' for m in getattr(module, name))
            lines.append(f'{name} = StrEnum("{name}", {{{members}\n}})')
        source = source.replace(f"from {module_name} import {names}\n", "")
    if not lines:
        return source
    block = "from enum import StrEnum\n\n# Frozen enum values (see `meetings makemigrations`).\n"
    frozen = "\n" + block + "\n".join(lines) + "\n\n\nclass Migration"
    return source.replace("\nclass Migration", frozen, 1)


def cmd_makemigrations(args: argparse.Namespace) -> None:
    writers = asyncio.run(db.model_changes())
    if args.check:
        missing = [f"{type(op).__name__} {op.model_name}.{getattr(op, 'name', '')}"
                   for writer in writers for op in writer.operations]
        if missing:
            sys.exit("the models need a migration (`meetings makemigrations`):\n  "
                     + "\n  ".join(missing))
        return
    for writer in writers:
        if args.name:
            writer.name = f"{writer.name.split('_', 1)[0]}_{args.name}"
        path = Path(writer.write())
        path.write_text(frozen_enums(path.read_text()))
        print(f"wrote {path}")
    if not writers:
        print("no changes")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.asgi import create_app
    from app.websocket_protocol import UVICORN_WS

    settings = get_settings()
    if settings.embedded:
        cmd_demo(args)
    else:
        cmd_migrate(args)
    print(f"GraphiQL: http://{args.host}:{args.port}/graphql")
    # log_config=None: the app routes uvicorn's loggers through its own JSON/console handler.
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info",
                log_config=None, timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
                ws=UVICORN_WS)
    from app.shutdown import Outcome

    # Non-zero when the shutdown had to cut requests at the grace (answered 503) or abandon
    # a step: a deployment sees that this stop was not clean.
    sys.exit(Outcome.exit_status())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="meetings", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the GraphQL server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
    commands.add_parser("migrate", help="apply migrations, seed reasons").set_defaults(
        func=cmd_migrate)
    commands.add_parser("demo", help="seed demo data, print tokens").set_defaults(func=cmd_demo)
    commands.add_parser("sweep", help="complete ended and expire unanswered meetings once"
                        ).set_defaults(func=cmd_sweep)
    worker = commands.add_parser(
        "worker", help="run the actors and the periodic sweeps (reminders, S1, S2, "
        "conference jobs, e-mail)")
    worker.add_argument("--threads", type=int, default=4, help="Dramatiq worker threads")
    worker.set_defaults(func=cmd_worker)
    token = commands.add_parser("token", help="print a development (HS256) token")
    token.add_argument("sub")
    token.add_argument("--name")
    token.add_argument("--admin", action="store_true")
    token.set_defaults(func=cmd_token)
    makemigrations = commands.add_parser(
        "makemigrations", help="write the migration the models need (enum values frozen)")
    makemigrations.add_argument("--name", help="the migration's name after its number")
    makemigrations.add_argument("--check", action="store_true",
                                help="write nothing; fail when the models need a migration")
    makemigrations.set_defaults(func=cmd_makemigrations)
    export = commands.add_parser("export-schema", help="write schema.graphql")
    export.add_argument("--check", action="store_true", help="fail when it is out of date")
    export.set_defaults(func=cmd_export_schema)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
