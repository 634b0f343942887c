"""Typed reading of a YAML tree that collects problems instead of stopping.

Each accessor returns a usable default when the value is missing or wrong and
records a ``Problem`` with the line, so one pass reports everything.
"""

from __future__ import annotations

import datetime
import difflib
import re
from typing import Any

from .addresses import AddressError, to_a_label
from .errors import Problem
from .yamlsrc import YList, YMap, scalar_text

#: keys that would put a secret into the file; they get their own message
SECRET_KEYS = {"password", "bind_password", "passwd", "userpassword", "secret", "smtp_password"}
#: where the directory's bind password goes instead
BIND_SECRET = "use bind_password_env or bind_password_file"
#: as staff sheets write them, English and Indonesian (compared in lower case)
_TRUE = {"true", "yes", "y", "1", "ya", "on", "aktif", "active"}
_FALSE = {"false", "no", "n", "0", "tidak", "off", "nonaktif", "non-aktif", "tidak aktif", "inactive"}
#: C0 controls but tab and newline, DEL and C1: a terminal acts on them (ESC starts the sequences that clear
#: the screen or set the window title) and they have no place in a name, a title or a letter
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: CONTROL and the line breaks it lets through, for every value but an address: a name of two lines is a
#: spreadsheet cell's Alt+Enter or a paste, and would be a cn of two lines or break a mail's Subject
ONE_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAKS = "\n\u2028\u2029"


def control_character(text: str, one_line: bool = False) -> str | None:
    """Why ``text`` cannot be taken as a value (its first control character, or line break if ``one_line``),
    or None."""
    found = (ONE_LINE if one_line else CONTROL).search(text)
    if found is None:
        return None
    char = found.group()
    if char in _LINE_BREAKS:
        return f"contains a line break ({char.encode('unicode_escape').decode()}): it must be one line"
    return f"contains the control character \\x{ord(char):02x}"


#: an integer YAML 1.1 reads as octal (0755 is 493)
_OCTAL = re.compile("[-+]?0[0-7_]")

#: how a spreadsheet shows a long number it has shortened: 1,97309E+17 or 1.97309e+17
_SHORTENED = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE]\+?[0-9]+")
#: a long number exported as a float (198702142010012000.0): a double keeps about 16 digits, an NIP has 18
_DECIMALS = re.compile(r"[0-9]{15,}[.,]0+")


def shortened_number(text: str) -> str | None:
    """Why ``text`` cannot be an employee id: an 18-digit NIP a spreadsheet turned into scientific notation,
    whose digits are gone (it would reach the directory and the letters as ``1,97309E+17``), or exported as
    a float (``198702142010012000.0``), whose last digits may be wrong."""
    # without an exponent there is nothing to find (and the pattern backtracks over an 18-digit NIP)
    if ("e" in text or "E" in text) and _SHORTENED.fullmatch(text.strip()):
        return (f"'{text.strip()}' is a number a spreadsheet shortened (scientific notation), its digits are lost: "
                "format the column as text and export it again")
    if ("." in text or "," in text) and _DECIMALS.fullmatch(text.strip()):
        return (f"'{text.strip()}' is a number a spreadsheet exported with decimals, its last digits may be lost: "
                "format the column as text and export it again")
    return None


#: an NIP as printed on Indonesian documents: birth date, appointment month, sex, sequence
_SPACED_NIP = re.compile(r"([0-9]{8}) ?([0-9]{6}) ?([0-9]) ?([0-9]{3})")


def employee_number(text: str) -> str:
    """An employee id as the directory keeps it: a NIP written as printed (``19730921 199703 1 009``) as its
    18 digits, so one person has one value whichever file or letter it was copied from; any other id as given."""
    text = text.strip()
    spaced = _SPACED_NIP.fullmatch(text)
    return "".join(spaced.groups()) if spaced else text


def nip_doubt(number: str) -> str | None:
    """Why an 18-digit employee id cannot be a NIP as BKN issues them (None: it can be, or it is no NIP): the
    first 8 digits are a birth date, the next 6 the year and month of appointment, then 1 (a man) or 2 (a woman),
    then a serial number. A digit typed wrong or left out breaks one of those more often than not."""
    if len(number) != 18 or not number.isdigit():
        return None
    try:
        born = datetime.date(int(number[:4]), int(number[4:6]), int(number[6:8]))
    except ValueError:
        born = None
    if born is None or born.year < 1900:
        return f"its first 8 digits, {number[:8]}, are no birth date (YYYYMMDD)"
    if not 1 <= int(number[12:14]) <= 12 or int(number[8:12]) <= born.year:
        return f"digits 9-14, {number[8:14]}, are no year and month of appointment (YYYYMM) after the birth date"
    if number[14] not in "12":
        return f"digit 15, {number[14]}, is neither 1 (a man) nor 2 (a woman)"
    return None


def parse_bool(text: str) -> bool | None:
    """Booleans as spreadsheets and environment variables write them (also Indonesian ya/tidak)."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


class Reader:
    """Walks the YAML tree, collecting problems instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    # -- reporting ---------------------------------------------------------
    def problem(self, line: int, message: str, file: str | None = None) -> None:
        self.problems.append(Problem(file or self.file, line, message))

    # -- structure -----------------------------------------------------------
    def mapping(self, parent: YMap, key: str, context: str, required: bool = True) -> YMap | None:
        value = parent.get(key)
        if value is None:
            if required:
                self.problem(parent.line_of(key) if key in parent else parent.line, f"{context}: missing '{key}'")
            return None
        if not isinstance(value, YMap):
            self.problem(parent.line_of(key), f"{context}.{key}: expected a mapping, got {kind(value)}")
            return None
        return value

    def keys(self, node: YMap, allowed: tuple[str, ...], context: str, instead: str = BIND_SECRET) -> None:
        """Unknown keys (with the closest allowed one); a password key says ``instead`` where it goes."""
        for key in node:
            if key in allowed:
                continue
            if key.lower() in SECRET_KEYS:
                self.problem(node.line_of(key),
                             f"{context}.{key}: a password must not be written in the configuration file ({instead})")
            else:
                hint = _suggest(key, allowed)
                self.problem(node.line_of(key), f"{context}: unknown key '{key}'{hint}")

    def string(self, node: YMap, key: str, context: str, required: bool = False, default: str = "",
               one_line: bool = True) -> str:
        """The text at ``key``, stripped. Only an address may have several lines (``one_line=False``): a line
        break in a name ends up in a directory value, a mail's Subject or the middle of a letter's line."""
        if key not in node or node[key] is None:
            if required:
                self.problem(node.line, f"{context}: missing '{key}'")
            return default
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.problem(node.line_of(key), f"{context}.{key}: expected a string, got {kind(value)}{_quote_it(value)}")
            return default
        text = scalar_text(value).strip()
        if required and not text:
            self.problem(node.line_of(key), f"{context}.{key}: must not be empty")
        refused = control_character(text, one_line=one_line)
        if refused:
            self.problem(node.line_of(key), f"{context}.{key}: {refused}")
            return default
        return text

    def integer(self, node: YMap, key: str, context: str, default: int, low: int, high: int) -> int:
        if key not in node or node[key] is None:
            return default
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(node.line_of(key), f"{context}.{key}: expected an integer, got {kind(value)}")
            return default
        written = getattr(value, "text", "")
        if _OCTAL.match(written):
            self.problem(node.line_of(key), f"{context}.{key}: {written} starts with 0, which YAML reads as octal "
                                            f"({int(value)}): write it without the leading zero")
            return default
        if not low <= value <= high:
            self.problem(node.line_of(key), f"{context}.{key}: {value} is out of range {low}..{high}")
            return default
        return int(value)  # an int already: older mypy (1.11-1.17) does not narrow Any here

    def number(self, node: YMap, key: str, context: str, default: float, low: float, high: float) -> float:
        if key not in node or node[key] is None:
            return default
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(node.line_of(key), f"{context}.{key}: expected a number, got {kind(value)}")
            return default
        if not low <= value <= high:
            self.problem(node.line_of(key), f"{context}.{key}: {value} is out of range {low}..{high}")
            return default
        return float(value)

    def boolean(self, node: YMap, key: str, context: str, default: bool) -> bool:
        if key not in node or node[key] is None:
            return default
        value = node[key]
        if not isinstance(value, bool):
            self.problem(node.line_of(key), f"{context}.{key}: expected true or false, got {kind(value)}")
            return default
        return value

    def strings(self, node: YMap, key: str, context: str, required: bool = False) -> list[tuple[str, int]]:
        """A list of strings, each with its line."""
        if key not in node or node[key] is None:
            if required:
                self.problem(node.line, f"{context}: missing '{key}'")
            return []
        value = node[key]
        if isinstance(value, str):  # a single value written without brackets
            return [(value, node.line_of(key))]
        if not isinstance(value, YList):
            self.problem(node.line_of(key), f"{context}.{key}: expected a list, got {kind(value)}")
            return []
        result = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                self.problem(value.line_of(index),
                             f"{context}.{key}[{index}]: expected a string, got {kind(item)}{_quote_it(item)}")
                continue
            result.append((scalar_text(item).strip(), value.line_of(index)))
        if required and not result:
            self.problem(node.line_of(key), f"{context}.{key}: must not be empty")
        return result

    def choice(self, node: YMap, key: str, context: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(node, key, context, default=default)
        if value not in choices:
            self.problem(node.line_of(key), f"{context}.{key}: '{value}' is not one of {', '.join(choices)}")
            return default
        return value

    def domain(self, value: str, line: int, context: str, file: str | None = None,
               underscore: bool = False) -> str | None:
        try:
            return to_a_label(value, underscore)
        except AddressError as exc:
            self.problem(line, f"{context}: {exc}", file)
            return None


def _quote_it(value: Any) -> str:
    """What to do when YAML read a string as something else (On, No, 2026-01-02)."""
    if isinstance(value, bool):
        return " (YAML reads yes, no, on, off, true and false without quotes so): put it in quotes"
    if isinstance(value, datetime.date):  # a datetime too
        return " (YAML reads a date without quotes so): put it in quotes"
    return ""


def kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return f"the string '{value}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime.date):  # a datetime too
        return "a date"
    return type(value).__name__


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


