"""The ``semspace`` command line: one thin module per command group (STYLE H.24).

Every user error is one line on stderr, ``error: ...``, and no traceback: a ``SemspaceError`` (bad config, data,
checkpoint or index) or an ``OSError`` (a path that cannot be read or written) exits 1; a command-line usage error
(a missing or malformed option, an unknown command) exits 2 with the command's ``--help`` named, and so does an
index another process is writing under ``--no-wait`` (``IndexBusyError``). ``--debug``
anywhere on the command line shows the traceback instead.

``semspace --threads N COMMAND`` (or ``SEMSPACE_THREADS=N``) sets the CPU threads of every command before it starts
(semspace.utils.threads: default ``auto``, torch's count capped by the usable cores); ``semspace --version`` prints
the version of semspace and torch (torch's from its installed metadata).

The CLI starts without torch (issue 20): the command modules import their libraries inside the command functions,
and the set-up every command shares (logging, threads) is done when the chosen command runs (cli/startup.py).
"""

from __future__ import annotations

import logging
import sys

import typer
from typer._click import exceptions as click_exc  # typer vendors its own click

from semspace.cli import bench as bench_cmd
from semspace.cli import classify as classify_cmd
from semspace.cli import demo as demo_cmd
from semspace.cli import evaluate as evaluate_cmd
from semspace.cli import index as index_cmd
from semspace.cli import search as search_cmd
from semspace.cli import serve as serve_cmd
from semspace.cli import train as train_cmd
from semspace.cli import translate as translate_cmd
from semspace.cli import world as world_cmd
from semspace.cli.startup import StartUp, before_command
from semspace.errors import SemspaceError
from semspace.knobs import THREADS_ENV, parse_threads
from semspace.version import __version__

app = typer.Typer(
    name="semspace",
    help="Cross-domain retrieval and translation in a shared semantic space.\n\n"
    "Example: semspace world preview --kind scenes --out scenes.png",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(world_cmd.app, name="world")
app.command("train")(train_cmd.train)
app.command("demo")(demo_cmd.demo)
app.command("eval")(evaluate_cmd.evaluate)
app.command("bench")(bench_cmd.bench)
app.add_typer(index_cmd.app, name="index")
app.command("search")(search_cmd.search)
app.command("classify")(classify_cmd.classify)
app.command("serve")(serve_cmd.serve)
app.command("translate")(translate_cmd.translate)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version as installed_version  # torch's version without importing torch

        typer.echo(f"semspace {__version__} (torch {installed_version('torch')})")
        raise typer.Exit()


def _check_threads(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_threads(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


@app.callback()
def _root(
    ctx: typer.Context,
    threads: str | None = typer.Option(
        None,
        "--threads",
        envvar=THREADS_ENV,
        metavar="N|auto",
        callback=_check_threads,
        help="CPU threads of every command (default auto: torch's count, capped by the cores this process may use); "
        "a run's train.threads overrides it while training",
    ),
    version: bool = typer.Option(
        False, "--version", "-V", is_eager=True, callback=_print_version, help="print the version and exit"
    ),
) -> None:
    """Cross-domain retrieval and translation in a shared semantic space."""
    start = ctx.obj if isinstance(ctx.obj, StartUp) else StartUp()
    start.threads = threads
    before_command(ctx, start)  # logging and threads are set up when the command runs (cli/startup.py)


@app.command("version")
def version() -> None:
    """Print the semspace version."""
    typer.echo(__version__)


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI on ``argv`` (default: ``sys.argv[1:]``) and returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    start = StartUp(log_level=logging.DEBUG if debug else logging.WARNING)  # set up when the command runs
    try:
        app(args=args, prog_name="semspace", standalone_mode=False, obj=start)
    except SemspaceError as exc:
        if debug:
            raise
        typer.echo(f"error: {_one_line(str(exc))}", err=True)
        return int(getattr(exc, "exit_code", 1))  # 1, or 2 for a busy index under --no-wait
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return 130
    except click_exc.NoArgsIsHelpError as exc:  # `semspace` or `semspace index` alone: the help was printed
        if exc.format_message().strip():
            typer.echo(exc.format_message(), err=True)
        return int(exc.exit_code)
    except click_exc.UsageError as exc:
        if debug:
            raise
        where = exc.ctx.command_path if exc.ctx is not None else "semspace"
        typer.echo(f"error: {_one_line(exc.format_message())} (see '{where} --help')", err=True)
        return int(exc.exit_code)
    except click_exc.ClickException as exc:
        if debug:
            raise
        typer.echo(f"error: {_one_line(exc.format_message())}", err=True)
        return int(exc.exit_code)
    except OSError as exc:  # a path the user gave cannot be read or written (permissions, a full disk, ...)
        if debug:
            raise
        what = exc.strerror or type(exc).__name__
        typer.echo(f"error: {what}: {exc.filename}" if exc.filename else f"error: {_one_line(str(exc))}", err=True)
        return 1
    return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
