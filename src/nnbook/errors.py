"""The package's errors: one base class, two kinds, so the command line can answer each rightly.

A :class:`UsageError` is the user's mistake in what was asked (a setting out of range, a run
folder that cannot be used as asked): the command line answers with a usage message and exit
status 2. An :class:`EnvironmentProblem` is about what is there (damaged data, an unreadable
checkpoint, a missing GPU, a run that diverged): one ``error:`` line and exit status 1.
Anything else is a bug in the package and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["NnbookError", "UsageError", "EnvironmentProblem", "NnbookWarning", "first_line"]


class NnbookError(Exception):
    """Base class of every error this package raises on purpose; the message names the fix."""


class UsageError(NnbookError, ValueError):
    """What was asked cannot be done as asked (command line: usage message, exit 2)."""


class EnvironmentProblem(NnbookError):
    """Data, files, device or the run itself stand in the way (command line: one line, exit 1)."""


class NnbookWarning(UserWarning):
    """Something the user should know that does not stop the command (a cache that cannot be written)."""


def first_line(exc: BaseException | str, limit: int = 200) -> str:
    """The first line of an exception's message (or of ``exc`` itself), at most ``limit`` characters:
    a library's error quoted inside one of ours stays one readable line."""
    return (str(exc).splitlines() or [""])[0][:limit]
