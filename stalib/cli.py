"""The ``stalib`` command line (also ``python -m stalib``): a thin layer over the library.

Each sub-command lives in a module of :mod:`stalib.commands` that defines
``register(subparsers)``; it adds its parser and sets ``func`` to a function taking the parsed
arguments and returning an exit status. Errors of the project (:class:`stalib.errors.StalibError`)
become one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings

import stalib.commands as commands
from stalib import __version__
from stalib.errors import StalibError, in_flags


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (and a hint) instead of the usage block."""

    def error(self, message: str):  # noqa: D401 (argparse API)
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="stalib",
        description="Spatio-temporal attention models for skeleton action recognition.",
    )
    parser.add_argument("--version", action="version", version=f"stalib {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"stalib.commands.{info.name}")
        module.register(sub)
    return parser


#: Flags and a command of stalib 0.1.0 that now have another name (one word, configuration, for the
#: settings a results row was made with): a one-line error says which.
RENAMED = {
    "--recipe": "--config NAME (a named configuration), or --from NAME to start from it and "
                "change a setting",
    "--variant": "--config NAME",
    "--variants": "--configs",
    "recipes": "configs",
}
#: Arguments of the library whose option has another name: argument -> argparse dest.
DEST_OF = {"configuration": "config", "seed": "seeds", "fold": "folds", "val_fold": "val_folds"}


def _renamed(argv: list[str]) -> str | None:
    """The one-line error for a renamed flag or command in ``argv`` (:data:`RENAMED`), or None."""
    for i, token in enumerate(argv):
        name = token.split("=", 1)[0]
        if name in RENAMED and (name.startswith("--") or i == 0):
            return f"{name} is now {RENAMED[name]} (stalib configs lists the named ones)"
    return None


def flags_of(parser: argparse.ArgumentParser, command: str) -> dict[str, str]:
    """``{argument: flag}`` of ``command``'s options, for the library's errors (which name an
    argument as Python does, :class:`stalib.errors.ConfigError`)."""
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    options = subparsers.choices[command]._actions
    flags = {a.dest: max(a.option_strings, key=len) for a in options if a.option_strings}
    return {**{arg: flags[dest] for arg, dest in DEST_OF.items() if dest in flags}, **flags}


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """stalib's own warnings (bad input skipped, a label gap, ...) as one line, like its errors;
    others as Python prints them."""
    if category.__module__.startswith("stalib"):
        print(f"stalib: warning: {message}", file=sys.stderr if file is None else file)
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


_python_showwarning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    """The command ``stalib ARGS`` (``argv`` None: ``sys.argv``): first started again in the
    portable deterministic mode (:func:`stalib.determinism.reexec`) unless ``--native`` is
    given. Called with ``argv`` (tests, other Python code) it runs in this process as it is."""
    renamed = _renamed(sys.argv[1:] if argv is None else argv)
    if renamed:  # before the re-execution below: a one-line error needs no second process
        print(f"stalib: error: {renamed}", file=sys.stderr)
        return 2
    if argv is None:
        from stalib import determinism

        if "--native" in sys.argv[1:]:  # its workers and notebook kernels record native rows
            os.environ[determinism.MARK] = determinism.NATIVE
        else:
            determinism.reexec(sys.argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.showwarning = _one_line_warning
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe fails here, inside the try, not at exit
        return status
    except StalibError as err:
        print(f"stalib: error: {in_flags(str(err), flags_of(parser, args.command))}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stalib: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `stalib predict ... | head -2`: the reader has gone; no traceback
        _silence_stdout()
        return 141  # 128 + SIGPIPE, as a shell reports a command killed by a closed pipe
    finally:
        warnings.showwarning = _python_showwarning


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced (tests) or already closed
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
