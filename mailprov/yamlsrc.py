"""YAML loading that remembers where every key and item was written.

PyYAML's constructors drop positions and silently keep the last of two equal
keys; validation needs both, so the node tree is converted by hand into dicts
and lists that carry their line numbers.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import Problem

try:  # the C loader is much faster on large files; both keep marks
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
#: what YAML takes for a line break and an editor (and mailprov's own file:line) does not: NEL, U+2028, U+2029
_ODD_BREAKS = {"\x85": "NEL", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}


class YMap(dict[str, Any]):
    """A mapping with the line of the mapping and of each of its keys."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class YList(list[Any]):
    """A sequence with the line of the sequence and of each item."""

    line: int
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class YInt(int):
    """An integer with the text it was written as. YAML 1.1 reads a phone number 0335421234 as octal
    (58073756) and 1_000 as 1000; where a string is expected, the text is what the person wrote."""

    text: str


class YFloat(float):
    """A float with the text it was written as (1.10, not 1.1)."""

    text: str


_NUMBERS: dict[type, type[YInt] | type[YFloat]] = {int: YInt, float: YFloat}


def scalar_text(value: object) -> str:
    """What a scalar read where a string is expected was written as."""
    return str(getattr(value, "text", value))


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _convert(loader: yaml.SafeLoader, node: yaml.Node, file: str, problems: list[Problem],
             done: dict[int, Any]) -> Any:
    """``node`` as YMap, YList or a scalar. ``done``: what each mapping and sequence node became (by id); an alias
    (``*staf``) is the node it names, so it is converted once and its problems (a duplicate key) reported once."""
    if id(node) in done:
        return done[id(node)]
    if isinstance(node, yaml.MappingNode):
        result = YMap()
        result.line = _line(node)
        result.key_lines = {}
        done[id(node)] = result
        own: dict[str, int] = {}
        for key_node, value_node, merged in _pairs(node):
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            if not merged:
                if key in own:
                    problems.append(Problem(file, _line(key_node), f"duplicate key '{key}' (first at line {own[key]})"))
                    continue
                own[key] = _line(key_node)
            result.key_lines[key] = _line(key_node)
            result[key] = _convert(loader, value_node, file, problems, done)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = YList()
        items.line = _line(node)
        items.item_lines = []
        done[id(node)] = items
        for item in node.value:
            items.item_lines.append(_line(item))
            items.append(_convert(loader, item, file, problems, done))
        return items
    if node.tag == _STR:  # most scalars: the constructor would only hand back node.value
        return node.value
    value = loader.construct_object(node, deep=True)
    number = _NUMBERS.get(type(value))
    if number is not None:
        value = number(value)
        value.text = node.value
    return value


def _pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node, bool]]:
    """A mapping's keys and values, those its merge keys bring (``<<: *defaults``) first and marked True.

    Read in this order, a later pair overrides an earlier one as YAML's merge rules say: the mapping's own
    keys override merged ones, and of the mappings merged from a list the first wins. PyYAML's flatten_mapping
    gives the same order, but it rewrites the node: a mapping reached again through an alias would then have
    the merged keys as its own, and an override would read as a duplicate key.
    """
    merged: list[tuple[yaml.Node, yaml.Node, bool]] = []
    own: list[tuple[yaml.Node, yaml.Node, bool]] = []
    for key, value in node.value:
        if key.tag != _MERGE:
            own.append((key, value, False))
            continue
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"expected a mapping or list of mappings for merging, but found {source.id}", source.start_mark)
            merged.extend((k, v, True) for k, v, _ in _pairs(source))
    return merged + own


def _unreadable(code: int) -> str:
    """Why a file holding this code point, which YAML allows nowhere in a file, cannot be read."""
    if code == 0:  # UTF-16 without its byte-order mark: every other byte of a Latin letter is zero
        return "holds NUL bytes, so it is UTF-16 text without a byte-order mark or not text at all: save it as UTF-8"
    return (f"holds the control character U+{code:04X}, which a YAML file may not hold, not even in quotes "
            "(pasted with a name?): remove it")


def load_yaml(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Parse ``text``; return the data and the problems found while parsing.

    A syntax error stops parsing (YAML cannot be resynchronised reliably), so
    it comes back as the only problem with ``None`` as data; so do line breaks
    only YAML counts as such and characters YAML refuses, each at its line,
    found before parsing.
    """
    problems = sorted(_odd_breaks(text, file) + _refused_characters(text, file), key=lambda problem: problem.line)
    if problems:
        return None, problems
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, problems
        data = _convert(loader, node, file, problems, {})
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        context = exc.context or ""
        if context and exc.context_mark is not None and exc.context_mark.line != getattr(mark, "line", None):
            context += f" (line {int(exc.context_mark.line) + 1})"
        what = " ".join(str(part) for part in (context, exc.problem) if part)
        lines = text.split("\n")
        written = lines[line - 1] if 0 < line <= len(lines) else ""
        if "\t" in written[: len(written) - len(written.lstrip())]:  # libyaml does not name the character
            what += " (a tab: YAML indents with spaces only)"
        problems.append(Problem(file, line, f"YAML syntax error: {what}"))
        return None, problems
    except yaml.YAMLError as exc:
        problems.append(Problem(file, 1, f"YAML error: {exc}"))
        return None, problems
    finally:
        loader.dispose()
    return data, problems


#: what YAML 1.1 does not allow anywhere in a file, not even quoted (its "printable" set's complement)
_REFUSED = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _refused_characters(text: str, file: str) -> list[Problem]:
    """Each character YAML's reader would stop at, at its line: the reader names only the first, by its position,
    on a second line of its message. NUL bytes once, as they fill a UTF-16 file."""
    found: list[Problem] = []
    for match in _REFUSED.finditer(text):
        found.append(Problem(file, text.count("\n", 0, match.start()) + 1, _unreadable(ord(match.group()))))
        if match.group() == "\x00":
            break
    return found


def _odd_breaks(text: str, file: str) -> list[Problem]:
    """Each NEL, U+2028 or U+2029 (pasted from a word processor or a web page) at its line as an editor counts.
    YAML ends a line there: a name would be cut in two, a comment's end read as a key, and every line number
    after it would be one more than the editor shows."""
    found: list[Problem] = []
    for char, name in _ODD_BREAKS.items():
        start = text.find(char)
        while start >= 0:
            found.append(Problem(file, text.count("\n", 0, start) + 1,
                                 f"U+{ord(char):04X} ({name}): YAML reads it as a line break; remove it"))
            start = text.find(char, start + 1)
    return sorted(found, key=lambda problem: problem.line)
