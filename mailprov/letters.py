"""Letters: rendering the Jinja templates, and writing files that may hold a password.

One module for every letter: ``apply`` and ``mailbox reset-password`` write
mailbox letters through ``MailboxLetterWriter`` at the moment a password is
set; ``letters render`` renders agency and mailbox letters on demand.

Templates are looked up in an operator's ``--templates`` folder first and in
the built-in ``templates/`` second, per file. The environment is sandboxed,
undefined variables are errors, HTML output is autoescaped.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import TemplateError, UsageError
from .model import Agency, Config, Mailbox

LANGS = ("id", "en")
FORMATS = ("md", "html", "pdf")
KINDS = ("agency", "mailbox")

MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
             "Oktober", "November", "Desember")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def builtin_templates() -> Path:
    """The templates shipped with mailprov (the top-level ``templates/`` in the wheel)."""
    from importlib.resources import files

    try:
        return Path(str(files("mailprov.templates")))
    except ModuleNotFoundError:  # running from a source tree that was not installed
        return Path(__file__).resolve().parent.parent / "templates"


def long_date(day: dt.date, lang: str) -> str:
    months = MONTHS_ID if lang == "id" else MONTHS_EN
    return f"{day.day} {months[day.month - 1]} {day.year}"


def roman_month(day: dt.date) -> str:
    return ROMAN[day.month - 1]


# -- files holding secrets ---------------------------------------------------------


def private_folder(path: Path) -> None:
    """Create ``path`` (and parents) so that only the owner can enter the last level."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def write_private(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the first byte (then rename into place).

    The file never exists with wider permissions, not even for an instant,
    and a crash leaves either the old letter or the new one, never half of it.
    """
    private_folder(path.parent)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# -- rendering ------------------------------------------------------------------------


class Renderer:
    """A sandboxed Jinja environment over the operator's and the built-in templates."""

    def __init__(self, templates: Path | None = None) -> None:
        from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
        from jinja2.sandbox import SandboxedEnvironment

        search = [FileSystemLoader(str(templates))] if templates else []
        if templates is not None and not templates.is_dir():
            raise UsageError(f"--templates {templates}: not a folder")
        search.append(FileSystemLoader(str(builtin_templates())))
        self.env = SandboxedEnvironment(
            loader=ChoiceLoader(search),
            undefined=StrictUndefined,
            autoescape=lambda name: bool(name and (name.endswith(".html.j2") or name.endswith(".html"))),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["long_date"] = long_date
        self.env.filters["group_digits"] = lambda n: f"{int(n):,}".replace(",", ".")
        self._cache: dict[str, Any] = {}

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        from jinja2 import TemplateError as JinjaError
        from jinja2 import TemplateSyntaxError, UndefinedError

        try:
            template = self._cache.get(name)
            if template is None:
                template = self._cache[name] = self.env.get_template(name)
            return str(template.render(**context))
        except TemplateSyntaxError as exc:
            raise TemplateError(exc.filename or exc.name or name, exc.lineno, exc.message or str(exc)) from None
        except UndefinedError as exc:
            raise TemplateError(*_template_location(exc, name), f"undefined variable: {exc.message}") from None
        except JinjaError as exc:
            raise TemplateError(*_template_location(exc, name), str(exc)) from None


def _template_location(exc: BaseException, name: str) -> tuple[str, int | None]:
    """The template file and line a rendering error comes from, read off the traceback."""
    tb = exc.__traceback__
    found: tuple[str, int | None] = (name, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):  # Jinja rewrites frames to template file and line
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def template_name(kind: str, lang: str, fmt: str) -> str:
    return f"{kind}.{lang}.{'html' if fmt == 'pdf' else fmt}.j2"


# -- mailbox letters -----------------------------------------------------------------


@dataclass(frozen=True)
class MailboxLetter:
    agency: Agency
    mailbox: Mailbox
    #: the first password, only when it was just set
    password: str | None


def mailbox_context(config: Config, letter: MailboxLetter, lang: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "lang": lang,
        "platform": config.platform,
        "letters": config.letters,
        "agency": letter.agency,
        "mailbox": letter.mailbox,
        "password": letter.password,
        "date": long_date(now.date(), lang),
        "place": config.letters.place,
    }


def mailbox_letter_path(out: Path, agency_id: str, local: str, fmt: str) -> Path:
    return out / agency_id / "mailboxes" / f"{local}.{fmt}"


class MailboxLetterWriter:
    """Writes one mailbox letter per new password, as the password is set (mode 0600)."""

    def __init__(self, config: Config, out: Path, lang: str | None = None, fmt: str = "md",
                 templates: Path | None = None, clock: Clock = utc_now) -> None:
        if fmt not in ("md", "html"):
            raise UsageError("mailbox letters written during apply are md or html")
        self.config = config
        self.out = out
        self.lang = lang
        self.fmt = fmt
        self.renderer = Renderer(templates)
        self.clock = clock
        self.written: list[Path] = []

    def render(self, letter: MailboxLetter) -> str:
        lang = self.lang or letter.agency.language
        context = mailbox_context(self.config, letter, lang, self.clock())
        return self.renderer.render(template_name("mailbox", lang, self.fmt), context)

    def path(self, agency: Agency, mailbox: Mailbox) -> Path:
        return mailbox_letter_path(self.out, agency.id, mailbox.local, self.fmt)

    def write(self, letter: MailboxLetter) -> Path:
        path = self.path(letter.agency, letter.mailbox)
        write_private(path, self.render(letter))
        self.written.append(path)
        return path

    def discard(self, agency: Agency, mailbox: Mailbox) -> None:
        """Remove a letter whose password never reached the directory."""
        path = self.path(agency, mailbox)
        path.unlink(missing_ok=True)
        if path in self.written:
            self.written.remove(path)
