"""Letters: rendering the Jinja templates into the files ``files`` writes (0600 when they hold a password).

One module for every letter: ``apply`` and ``mailbox reset-password`` write
mailbox letters through ``MailboxLetterWriter`` at the moment a password is
set; ``letters render`` renders agency and mailbox letters on demand.

Templates are looked up in an operator's ``--templates`` folder first and in
the built-in ``templates/`` second, per file. The environment is sandboxed,
undefined variables are errors, HTML output is autoescaped.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, LetterError, OutputError, Problem, TemplateError, UsageError
from .files import check_writable, make_durable, private_folder, write_private, write_whole, writing
from .model import Agency, Config, Mailbox
from .profiles import Profile, resolve
from .stamps import parse_stamp

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

    from .compliance import Compliance

FORMATS = ("md", "html", "pdf")

MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
             "Oktober", "November", "Desember")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def builtin_templates() -> Path:
    """The templates shipped with mailprov.

    An installed wheel has them in ``mailprov/templates`` (pyproject.toml maps
    the top-level ``templates/`` there); a source tree, editable installs
    included, has only the top-level folder. (``importlib.resources`` was
    used here before: for that folder, which has no ``__init__.py``, it gives
    a ``MultiplexedPath`` whose text is not a path, so an installed wheel found
    no template at all.)
    """
    package = Path(__file__).resolve().parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


def long_date(day: dt.date, lang: str) -> str:
    months = MONTHS_ID if lang == "id" else MONTHS_EN
    return f"{day.day} {months[day.month - 1]} {day.year}"


def local(moment: dt.datetime, zone: str) -> dt.datetime:
    """``moment`` (aware) in the time zone ``zone`` (an IANA name, checked by validate)."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(zone))


def local_time(moment: dt.datetime, zone: str, lang: str) -> str:
    """``28 November 2026 09.00 WIB``: local day and time with the zone's abbreviation (Indonesian
    writes hours with a dot)."""
    there = local(moment, zone)
    sep = "." if lang == "id" else ":"
    return f"{long_date(there.date(), lang)} {there:%H}{sep}{there:%M} {there.tzname()}"


def when(stamp: str, lang: str, zone: str = "UTC") -> str:
    """A result's ``2026-11-28T02:00:00Z`` as ``local_time`` shows it in ``zone``."""
    try:
        moment = parse_stamp(stamp)
    except ValueError:
        return stamp
    return local_time(moment, zone, lang)


def roman_month(day: dt.date) -> str:
    return ROMAN[day.month - 1]


# -- rendering ------------------------------------------------------------------------


class Renderer:
    """A sandboxed Jinja environment over the operator's and the built-in templates."""

    def __init__(self, templates: Path | None = None, zone: str = "UTC") -> None:
        if templates is not None and not templates.is_dir():
            raise UsageError(f"--templates {templates}: not a folder")
        #: where templates are looked for, file by file: the operator's folder first
        self.places = ([templates] if templates else []) + [builtin_templates()]
        self.zone = zone
        self._env: SandboxedEnvironment | None = None
        self._env_lock = threading.Lock()
        self._cache: dict[str, Any] = {}

    @property
    def env(self) -> SandboxedEnvironment:
        """Made at the first letter, not before: apply's first letters are written while the directory
        works on the first adds, so Jinja's import (15 ms) is off the path to the first write."""
        with self._env_lock:  # apply's two letter threads may both render the first letter
            if self._env is None:
                self._env = self._make_env()
            return self._env

    def _make_env(self) -> SandboxedEnvironment:
        from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, pass_context

        zone = self.zone
        env = _sandbox()(
            loader=ChoiceLoader([FileSystemLoader(str(place)) for place in self.places]),
            undefined=StrictUndefined,
            autoescape=lambda name: bool(name and (name.endswith(".html.j2") or name.endswith(".html"))),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters["long_date"] = long_date
        env.filters["when"] = lambda stamp, lang: when(stamp, lang, zone)
        env.filters["group_digits"] = pass_context(_group_digits)
        env.filters["cell"] = markdown_cell
        env.filters["md"] = markdown_text
        return env

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        from jinja2 import TemplateError as JinjaError
        from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError

        try:
            template = self._cache.get(name)
            if template is None:
                template = self._cache[name] = self.env.get_template(name)
            return str(template.render(**context))
        except TemplateNotFound as exc:  # before the syntax errors: both are Jinja TemplateErrors
            places = " or ".join(str(path) for path in self.places)
            raise TemplateError(*_template_location(exc, name), f"no template {exc.name} in {places}") from None
        except TemplateSyntaxError as exc:
            raise TemplateError(exc.filename or exc.name or name, exc.lineno, exc.message or str(exc)) from None
        except UndefinedError as exc:
            raise TemplateError(*_template_location(exc, name), f"undefined variable: {exc.message}") from None
        except JinjaError as exc:
            raise TemplateError(*_template_location(exc, name), str(exc)) from None
        except UnicodeDecodeError as exc:  # Jinja reads a template whole, so exc.start is its byte offset
            path = _undecodable_template(exc, name)
            line = Path(path).read_bytes()[:exc.start].count(b"\n") + 1 if Path(path).is_file() else None
            raise TemplateError(path, line, "not UTF-8 text: save the template as UTF-8") from None
        except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
            # raised by an expression of the operator's own template ({{ total / 0 }}, {{ name - 1 }}): theirs to
            # mend, like a syntax error; in a built-in template it is mailprov's bug, an internal error
            where = _template_location(exc, name)
            if where[1] is None or Path(where[0]).resolve().is_relative_to(builtin_templates().resolve()):
                raise
            raise TemplateError(*where, f"the template failed: {exc} ({type(exc).__name__})") from None


@cache
def _sandbox() -> type[SandboxedEnvironment]:
    """Jinja's stock sandbox, remembering its verdict per (type, attribute).

    The stock check runs on every attribute a template reads (15 per mailbox
    letter, 40% of rendering one); its verdict depends only on the object's
    type and the attribute's name, so the answer for a pair is computed once.
    """
    from jinja2.sandbox import SandboxedEnvironment

    class Sandbox(SandboxedEnvironment):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._verdicts: dict[tuple[type, str], bool] = {}

        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            key = (type(obj), attr)
            safe = self._verdicts.get(key)
            if safe is None:
                safe = super().is_safe_attribute(obj, attr, value)
                if len(self._verdicts) < 4096:  # templates read a bounded set of names; stay bounded anyway
                    self._verdicts[key] = safe
            return safe

        def getattr(self, obj: Any, attribute: str) -> Any:
            # the stock getattr first asks whether the value is a str.format method (to sandbox the
            # format string); plain data never is, and it is all a letter reads (21.5 -> 18.9 us a letter)
            try:
                value = getattr(obj, attribute)
            except AttributeError:
                return super().getattr(obj, attribute)
            if type(value) not in _PLAIN_DATA:
                return super().getattr(obj, attribute)
            return value if self.is_safe_attribute(obj, attribute, value) else self.unsafe_undefined(obj, attribute)

    return Sandbox


#: values that are not callables: the sandbox's str.format check has nothing to do for them
_PLAIN_DATA = frozenset({str, int, float, bool, type(None), tuple, list, dict, frozenset})


def _tracebacks(exc: BaseException) -> Iterator[TracebackType]:
    """The traceback entries of ``exc``, outermost first."""
    tb = exc.__traceback__
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _template_location(exc: BaseException, name: str) -> tuple[str, int | None]:
    """The template file and line a rendering error comes from, read off the traceback (the innermost frame
    Jinja rewrote to a template file and line)."""
    found = [(tb.tb_frame.f_code.co_filename, tb.tb_lineno) for tb in _tracebacks(exc)
             if tb.tb_frame.f_code.co_filename.endswith(".j2")]
    return found[-1] if found else (name, None)


def _undecodable_template(exc: UnicodeDecodeError, name: str) -> str:
    """The template file Jinja's loader was reading (its ``filename``) when ``exc`` came, else ``name``."""
    found = [tb.tb_frame.f_locals.get("filename") for tb in _tracebacks(exc)]
    files = [f for f in found if isinstance(f, str) and f.endswith(".j2")]
    return files[-1] if files else name


def template_name(kind: str, lang: str, fmt: str) -> str:
    return f"{kind}.{lang}.{'html' if fmt == 'pdf' else fmt}.j2"


# -- mailbox letters -----------------------------------------------------------------


@dataclass(frozen=True)
class MailboxLetter:
    """What a mailbox letter says: the owner, the mailbox and, when just set, its password."""
    agency: Agency
    mailbox: Mailbox
    #: the first password, only when it was just set
    password: str | None
    #: the password was reset (``mailbox reset-password``), not set on a new account: the letter says so
    reset: bool = False


def _group_digits(context: Any, n: object) -> str:
    """``5.120`` in an Indonesian letter, ``5,120`` in an English one (the letter's ``lang``)."""
    grouped = f"{int(str(n)):,}"
    return grouped.replace(",", ".") if context.get("lang", "id") == "id" else grouped


def mailbox_context(config: Config, letter: MailboxLetter, lang: str, now: dt.datetime,
                    profile: Profile) -> dict[str, Any]:
    """``aliases`` and ``quota_mb`` only where ``profile`` writes them to the directory: a letter that
    promised ``setda@...`` the directory does not have sent the owner's correspondents into bounces."""
    return {
        "lang": lang,
        "platform": config.platform,
        "letters": config.letters,
        "agency": letter.agency,
        "mailbox": letter.mailbox,
        "aliases": list(letter.mailbox.aliases) if profile.stores_aliases else [],
        "quota_mb": letter.mailbox.quota_mb if profile.stores_quota else None,
        "password": letter.password,
        "reset": letter.reset,
        "date": long_date(local(now, config.letters.timezone).date(), lang),
        "place": config.letters.place,
    }


#: what may start Markdown inside a line: emphasis (* and _ unless between letters, where CommonMark
#: never reads it so), code, links, HTML and autolinks, GFM strikethrough, an escape, an entity
_MD_INLINE = re.compile(r"[\\`*\[\]<>~]|(?<!\w)_|_(?!\w)|&(?=#?\w+;)")
#: what starts a block at the beginning of a line: heading, quote, list item (1. or 1) too), setext underline
_MD_BLOCK = re.compile(r"^([ \t]*|[ \t]*\d+)([#>+=-]|(?<=\d)[.)])", re.MULTILINE)
#: a cheap first look (0.3 us a name, against 0.9-1.7 for the two above): a character either may escape,
#: or a value that starts like a block
_MD_CHARS = re.compile(r"[\\`*\[\]<>~_&\n]")
_MD_START = re.compile(r"[ \t]*[#>+=\-0-9]")


def markdown_text(value: object) -> str:
    """``value`` as Markdown shows it verbatim: a name, title or agency's address comes from a staff sheet,
    and ``*Plt*``, ``<b>`` or ``[Blok A](x)`` in it must not turn into emphasis, HTML or a link once the
    letter is converted. Each line of a value of several lines (an address) ends in a hard line break."""
    text = str(value)
    if not _MD_CHARS.search(text) and not _MD_START.match(text):  # nearly every name: nothing to escape
        return text
    text = _MD_BLOCK.sub(r"\1\\\2", _MD_INLINE.sub(r"\\\g<0>", text))
    return text.replace("\n", "\\\n")


def markdown_cell(value: object) -> str:
    """Text for a Markdown table cell, as ``markdown_text`` shows it, on one line: a '|' (a name, a published
    DNS record) must not start a new column, and a control character in a published record is shown as
    ``\\xNN`` (a letter may be read with ``cat``)."""
    from .report import terminal_text

    return terminal_text(markdown_text(str(value).replace("\n", " ")).replace("|", "\\|"))


def mailbox_letter_folder(out: Path, agency_id: str) -> Path:
    return out / agency_id / "mailboxes"


def mailbox_letter_path(out: Path, agency_id: str, local: str, fmt: str) -> Path:
    return mailbox_letter_folder(out, agency_id) / f"{local}.{fmt}"


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
        self.renderer = Renderer(templates, config.letters.timezone)
        self.profile = resolve(config.directory.profile)
        self.clock = clock
        self._ready: set[Path] = set()  # folders already made private
        self._unsynced: set[Path] = set()  # folders whose new entries are not durable yet
        self._unsynced_files: list[Path] = []  # letters not on the disk yet
        self._made: set[Path] = set()  # folders this writer created: removed by tidy() if they stay empty
        self._folders: dict[str, Path] = {}  # each agency's folder of mailbox letters
        self._lock = threading.Lock()

    def render(self, letter: MailboxLetter) -> str:
        lang = self.lang or letter.agency.language
        context = mailbox_context(self.config, letter, lang, self.clock(), self.profile)
        return self.renderer.render(template_name("mailbox", lang, self.fmt), context)

    def path(self, agency: Agency, mailbox: Mailbox) -> Path:
        return mailbox_letter_path(self.out, agency.id, mailbox.local, self.fmt)

    def ready(self) -> None:
        """Prove a letter can be written under ``out`` before any password is set, or say why not."""
        try:
            check_writable(self.out / "probe")
        except OutputError as exc:
            raise UsageError(f"letters folder {self.out}: cannot write letters there ({exc.reason}); "
                             "nothing was changed") from None

    def write(self, letter: MailboxLetter) -> Path:
        """Write one letter (safe to call from several threads at once)."""
        # an agency's folder is worked out once, not per letter: pathlib's joins and parents were a fifth
        # of writing a letter on tmpfs (10,000 letters: 49-50 us each)
        folder = self._folders.get(letter.agency.id)
        if folder is None:
            folder = self._folders.setdefault(letter.agency.id, mailbox_letter_folder(self.out, letter.agency.id))
        path = folder / f"{letter.mailbox.local}.{self.fmt}"
        text = self.render(letter)
        try:
            with self._lock, writing(folder):
                if folder not in self._ready:
                    self._made.update(p for p in (folder, *folder.parents)
                                      if (p == self.out or self.out in p.parents) and not p.exists())
                    private_folder(folder)
                    self._ready.add(folder)
                    # the folders may be new too: their own entries must last as well
                    self._unsynced.update(p for p in folder.parents if p in (self.out, self.out.parent)
                                          or self.out in p.parents)
            # written before its password reaches the directory (see apply), and put on the disk by
            # sync() before the directory takes the password, so a power cut cannot leave a password
            # set whose letter is empty
            write_private(path, text, folder_ready=True, fresh=True)
            with self._lock:  # after the file is there: a sync() running meanwhile still leaves it to the next
                self._unsynced.add(folder)
                self._unsynced_files.append(path)
        except OutputError as exc:
            raise LetterError(path, exc.reason) from None
        return path

    def sync(self) -> None:
        """Put the letters written so far, and their folders' entries, on the disk: before their passwords
        are set."""
        with self._lock:
            folders, self._unsynced = self._unsynced, set()
            files, self._unsynced_files = self._unsynced_files, []
        try:
            make_durable(files, folders)
        except OutputError as exc:
            raise LetterError(exc.path, exc.reason) from None

    def discard(self, agency: Agency, mailbox: Mailbox) -> None:
        """Remove a letter whose password never reached the directory."""
        self.path(agency, mailbox).unlink(missing_ok=True)

    def tidy(self) -> None:
        """Remove the folders this writer made that hold no letter (all of theirs discarded): a folder of
        an agency with no letter in it sends the operator looking for letters that do not exist."""
        for folder in sorted(self._made, key=lambda p: len(p.parts), reverse=True):
            with suppress(OSError):  # not empty: it keeps its letters
                folder.rmdir()
        self._made.clear()


# -- agency letters ----------------------------------------------------------------------


class LetterNumbers:
    """Letter numbers ``012/MMD/XI/2026``: one per agency and year, kept in ``OUT/letter-numbers.json``.

    Rendering an agency's letter again keeps its number; a new agency gets
    the next one; the sequence starts over each year.
    """

    FILE = "letter-numbers.json"

    def __init__(self, out: Path, code: str) -> None:
        self.path = out / self.FILE
        self.code = code
        self.data = self._read() if self.path.exists() else {}

    def _read(self) -> dict[str, dict[str, int]]:
        """The numbers given so far; a damaged file stops the run (numbers must never be given twice)."""
        import json

        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError([Problem(str(self.path), exc.lineno, f"not valid JSON: {exc.msg}")]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([Problem(str(self.path), 0, f"cannot be read: {exc}")]) from None
        valid = isinstance(data, dict) and all(
            isinstance(year, str) and year.isdigit() and isinstance(numbers, dict)
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in numbers.values())
            for year, numbers in data.items())
        if not valid:
            raise ConfigError([Problem(str(self.path), 1, 'expected {"YEAR": {"AGENCY_ID": NUMBER, ...}, ...}')])
        return data  # type: ignore[no-any-return]  # checked just above

    def number(self, agency_id: str, day: dt.date) -> str:
        year = self.data.setdefault(str(day.year), {})
        if agency_id not in year:
            year[agency_id] = max(year.values(), default=0) + 1
        return f"{year[agency_id]:03d}/{self.code}/{roman_month(day)}/{day.year}"

    def save(self) -> None:
        import json

        write_whole(self.path, json.dumps(self.data, indent=2, sort_keys=True) + "\n")  # never half a file


def agency_context(config: Config, agency: Agency, lang: str, day: dt.date, number: str,
                   compliance: Compliance | None) -> dict[str, Any]:
    from .records import required_records, zone_text

    return {
        "lang": lang,
        "platform": config.platform,
        "letters": config.letters,
        "agency": agency,
        "number": number,
        "date": long_date(day, lang),
        "place": config.letters.place,
        "records": [r.zone_line() for r in required_records(config.platform, agency.domain, lang)],
        "zone_text": zone_text(config.platform, agency.domain, lang),
        "compliance": compliance,
        "mailboxes": agency.mailboxes,
        "active_mailboxes": [m for m in agency.mailboxes if m.active],
    }


def html_to_pdf(html: str, base: Path) -> bytes:
    """PDF through WeasyPrint, the optional ``pdf`` extra."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise UsageError(
            "PDF needs WeasyPrint: pip install 'mailprov[pdf]' and, on Debian, "
            f"apt-get install libpango-1.0-0 libpangoft2-1.0-0 ({type(exc).__name__}: {exc})") from None
    return bytes(weasyprint.HTML(string=html, base_url=str(base)).write_pdf())


@dataclass
class Rendered:
    """The letter files written, and the existing mailbox letters kept (they may hold first passwords)."""
    written: list[Path]
    skipped: list[Path]


def render_letters(config: Config, agencies: list[Agency], kinds: list[str], lang: str | None, fmt: str,
                   out: Path, templates: Path | None = None, day: dt.date | None = None,
                   compliance: Mapping[str, Mapping[str, Compliance]] | None = None, force: bool = False
                   ) -> Rendered:
    """Write the agency and/or mailbox letters of ``agencies`` under ``out``.

    A mailbox letter that exists is not overwritten without ``force``: it may
    hold the first password ``apply`` wrote into it, which nothing can recreate.
    """
    renderer = Renderer(templates, config.letters.timezone)
    profile = resolve(config.directory.profile)
    day = day or local(utc_now(), config.letters.timezone).date()  # the day where the letters are signed
    numbers = LetterNumbers(out, config.letters.number_code)
    result = Rendered([], [])
    try:
        for agency in agencies:
            language = lang or agency.language
            name = template_name("agency", language, fmt)
            if "agency" in kinds:
                number = numbers.number(agency.id, day)
                # by language, then domain: the reasons in the letter's language when the source has it
                known = (compliance or {}).get(language, {})
                context = agency_context(config, agency, language, day, number, known.get(agency.domain))
                path = out / agency.id / f"agency.{fmt}"
                _write_letter(renderer, name, context, path, fmt, private=False)
                result.written.append(path)
            if "mailbox" in kinds:
                now = dt.datetime.combine(day, dt.time(), dt.UTC)
                for mailbox in agency.mailboxes:
                    path = mailbox_letter_path(out, agency.id, mailbox.local, fmt)
                    if path.exists() and not force:
                        result.skipped.append(path)
                        continue
                    context = mailbox_context(config, MailboxLetter(agency, mailbox, None), language, now,
                                              profile)
                    _write_letter(renderer, template_name("mailbox", language, fmt), context, path, fmt, private=True)
                    result.written.append(path)
    finally:
        # letters written before a failure keep their numbers: another agency's letter rendered next must
        # not get one of them again; a failure before the first letter leaves nothing behind
        if result.written:
            numbers.save()
    return result


def _write_letter(renderer: Renderer, name: str, context: dict[str, Any], path: Path, fmt: str,
                  private: bool) -> None:
    text = renderer.render(name, context)
    data: bytes | str = html_to_pdf(text, path.parent) if fmt == "pdf" else text
    if private:
        write_private(path, data)
    else:
        write_whole(path, data)
