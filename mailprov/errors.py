"""The one error hierarchy of mailprov.

Only the CLI catches these: it prints ``str(error)`` on one line (one line per
problem for configuration errors) and exits with ``error.exit_code``. The exit
codes are the contract in DESIGN.md: 1 non-compliant / a change failed,
2 bad input or configuration, 3 something could not be decided.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_UNDECIDED = 3
#: the reader of the output went away (`| head`): what a shell shows for a command SIGPIPE stopped
EXIT_BROKEN_PIPE = 128 + 13


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, at a place a person can open."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        # line 0 = the whole file, or an environment variable
        if self.line <= 0:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"


class MailprovError(Exception):
    """Root of every error mailprov raises on purpose."""

    exit_code = EXIT_FAILED

    def lines(self) -> list[str]:
        """What the CLI prints on stderr, one line each."""
        return [f"error: {line}" for line in (str(self) or type(self).__name__).splitlines()]


class ConfigError(MailprovError):
    """The configuration (YAML, CSV, environment) is not valid.

    Carries every problem found, not only the first, so an operator fixes the
    file in one pass.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class UsageError(MailprovError):
    """The command line asked for something that cannot be done as asked."""

    exit_code = EXIT_BAD_INPUT


class DirectoryError(MailprovError):
    """The LDAP directory refused or failed an operation."""

    exit_code = EXIT_FAILED


class DirectoryUnavailable(DirectoryError):
    """No server of the pool could be reached (down, timeout, TLS failure).

    Nothing was decided, so this is exit 3, like a DNS timeout.
    """

    exit_code = EXIT_UNDECIDED


class DirectoryAuthError(DirectoryError):
    """The bind was refused for a reason only the settings can change: a wrong DN or password, TLS the directory
    requires, a DN it takes no simple bind for."""

    exit_code = EXIT_BAD_INPUT


class DirectoryLimitError(DirectoryError):
    """The directory stopped a search at the bind DN's size or time limit: an account setting to change."""

    exit_code = EXIT_BAD_INPUT


class PasswordsUnreadable(DirectoryError):
    """Mailboxes have a password the bind DN may not read: a plan would replace every one (an ACL to fix)."""

    exit_code = EXIT_BAD_INPUT


class ServerHashError(DirectoryError):
    """``password_scheme: server-add`` against a directory that stores a password an add carries as given, or
    that does not let mailprov find out (no add or compare under the base DN)."""

    exit_code = EXIT_BAD_INPUT


class SecretError(MailprovError):
    """A secret (bind password, SMTP password) could not be obtained."""

    exit_code = EXIT_BAD_INPUT


class TemplateError(MailprovError):
    """A letter or report template is broken (syntax, undefined variable)."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, template: str, line: int | None, message: str) -> None:
        self.template = template
        self.line = line
        where = f"{template}:{line}" if line else template
        super().__init__(f"{where}: {message}")


class OutputError(MailprovError):
    """A file or folder mailprov was told to write cannot be written (a file in the way, read-only, full)."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, path: object, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: cannot write here ({reason})")


class HistoryError(MailprovError):
    """The --history database cannot be opened or written (not a SQLite file, another program's, read-only)."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: cannot use it as the history database ({reason})")


class HistoryBusy(HistoryError):
    """Another program held a lock on the history database for longer than mailprov waits: try again later."""

    exit_code = EXIT_UNDECIDED

    def __init__(self, path: object, reason: str, waited: float) -> None:
        MailprovError.__init__(self, f"{path}: another program held the history database locked ({reason}) for "
                                     f"more than {waited:g} s; this run is not kept, the next one tries again")


class LetterError(MailprovError):
    """A mailbox letter could not be written (disk full, a read-only or missing folder): its password is not set."""

    exit_code = EXIT_FAILED

    def __init__(self, path: object, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: the letter could not be written ({reason}); its password was not set")


class LockError(MailprovError):
    """Another run holds the lock (nightly job overlap)."""

    exit_code = EXIT_UNDECIDED


class Terminated(KeyboardInterrupt):
    """SIGTERM (systemd stopping a job, a timeout): handled as Ctrl-C is, with its own exit status."""

    exit_code = 128 + 15


def interrupted_status(exc: KeyboardInterrupt) -> int:
    """130 after Ctrl-C, 143 after SIGTERM: what a shell shows for a command each signal stopped."""
    return Terminated.exit_code if isinstance(exc, Terminated) else 128 + 2
