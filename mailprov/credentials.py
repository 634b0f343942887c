"""The bind password: from a file or an environment variable, or asked for.

Never from the command line (argv is visible to every user of the machine
and lands in shell history) and never from the YAML file.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import SecretError
from .model import DirectorySettings


def bind_password(settings: DirectorySettings, env: Mapping[str, str],
                  prompt: Callable[[str], str] | None = None) -> str:
    """The secret for ``settings.bind_dn``; ``prompt`` is used only when nothing else gives one."""
    if settings.bind_password_file:
        path = Path(settings.bind_password_file)
        try:
            mode = path.stat().st_mode
            # utf-8-sig: a byte-order mark (Notepad's) is not the first character of the password
            secret = path.read_text(encoding="utf-8-sig").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(f"cannot read bind_password_file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:  # its message would quote a byte of the secret
            raise SecretError(f"bind_password_file {path} is not UTF-8 text: save it as UTF-8") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            print(f"warning: {path} is readable by other users; chmod 600 it", file=sys.stderr)
        if not secret:
            raise SecretError(f"bind_password_file {path} is empty")
        return secret
    if settings.bind_password_env and env.get(settings.bind_password_env):
        return env[settings.bind_password_env]
    if prompt is not None:
        secret = prompt(f"LDAP password for {settings.bind_dn}: ")
        if secret:
            return secret
    where = f"${settings.bind_password_env}" if settings.bind_password_env else "bind_password_env"
    raise SecretError(f"no bind password: set {where} or bind_password_file (or run on a terminal to be asked)")


def terminal_prompt() -> Callable[[str], str] | None:
    """getpass when stdin is a terminal; None for cron jobs and pipes."""
    if not sys.stdin.isatty():
        return None
    import getpass

    return getpass.getpass
