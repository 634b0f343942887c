"""Reading the bulk staff lists (CSV) with the line of every row.

Spreadsheets exported by agencies come with a UTF-8 byte-order mark, with
``;`` instead of ``,`` (Indonesian-locale Excel), with stray blank lines and
with empty columns after the last one (a cell once formatted there); all four
are accepted. Column names are matched case-insensitively.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("local", "name", "title", "employee_id", "quota_mb", "aliases", "active")
REQUIRED = ("local", "name")
#: the columns `directory export --format csv` adds: an export can be read back as an agency's staff list
#: (taking existing mailboxes under management); address and domain are checked against the agency, dn is not used
EXPORTED = ("address", "domain", "dn")
#: what an agency's own staff list calls the columns, offered as a hint for an unknown one (not read as them:
#: 'status' may be a person's employment status rather than whether the mailbox is active)
INDONESIAN_HEADERS = {
    "nama": "name", "nama lengkap": "name", "nama_lengkap": "name", "jabatan": "title", "nip": "employee_id",
    "kuota": "quota_mb", "kuota_mb": "quota_mb", "alias": "aliases", "aktif": "active", "status": "active",
    "akun": "local", "username": "local", "nama pengguna": "local", "email": "local",
}


#: what makes a spreadsheet read a cell as a formula (OWASP's list for CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """A cell a spreadsheet shows as text, for a CSV mailprov writes: a DNS record, or a name in the directory,
    is anyone's to write, and ``=HYPERLINK(...)`` opened in Excel would be a live formula. A leading apostrophe
    is what spreadsheets themselves use to mark text; ``read_rows`` takes it off again."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _unmarked(cell: str) -> str:
    """A cell without the apostrophe that marks text starting like a formula as text (``spreadsheet_text``)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


class CsvFormatError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Row:
    """One record of a CSV file with the line it starts on."""
    line: int
    values: dict[str, str]
    #: set when the row cannot be read as a record of the header's columns
    error: str | None = None


@dataclass(frozen=True)
class Rows:
    """A CSV file's header and its records."""
    #: the header's names in their places ('' for a column without one)
    columns: tuple[str, ...]
    rows: tuple[Row, ...]


#: how a file that is not text starts, when it is what a staff list is kept in
_NOT_TEXT = ((b"PK\x03\x04", "a zip archive, such as an Excel workbook (.xlsx) or an OpenDocument sheet (.ods)"),
             (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls)"))


def read_rows(path: Path) -> Rows:
    """Read ``path``; raise ``FileNotFoundError`` or ``CsvFormatError``."""
    raw = path.read_bytes()
    for magic, what in _NOT_TEXT:  # the workbook itself named where its CSV export was meant
        if raw.startswith(magic):
            raise CsvFormatError(1, f"is {what}, not CSV: save the sheet as 'CSV UTF-8'")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode Text" (tab-separated, too)
        raise CsvFormatError(1, "is UTF-16 text (Excel's 'Unicode Text'): save the sheet as 'CSV UTF-8'")
    if b"\x00" in raw[:1024]:  # UTF-16 without its byte-order mark: every other byte of a Latin letter is zero
        raise CsvFormatError(1, "holds NUL bytes, so it is UTF-16 text without a byte-order mark or not text at "
                                "all: save the sheet as 'CSV UTF-8'")
    try:
        # line ends as reading text gives them: a cell's Alt+Enter saved as \r\n is one line break
        text = raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CsvFormatError(line, "not valid UTF-8 (save the sheet as 'CSV UTF-8')") from None
    first = text.partition("\n")[0]
    if not first.strip():
        raise CsvFormatError(1, "empty file: expected a header line with " + ",".join(COLUMNS))
    delimiter = ";" if first.count(";") > first.count(",") else ","
    # Records end where a spreadsheet ends them: at \r\n, \n or \r, all \n by now. str.splitlines() also breaks
    # at \x0b, \x0c, \x1c-\x1e, \x85, U+2028 and U+2029: one of them pasted into a cell split its row in two (the
    # second half read as another mailbox), and the line breaks of a quoted cell were dropped. newline="" keeps
    # both as they are.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
        width = len(header)
        nameless = [i for i, name in enumerate(header) if not name]
        rows = []
        start = reader.line_num + 1
        for record in reader:
            line = start
            start = reader.line_num + 1
            cells = [cell.strip() for cell in record]
            if not any(cells):
                continue
            if "'" in "".join(cells):  # rare: one look per row, not per cell
                cells = [_unmarked(cell) for cell in cells]
            # fields past the header's, or under a column without a name, are what a spreadsheet adds
            # after the data: welcome while empty, a value there belongs to no column
            if any(cells[width:]):
                rows.append(Row(line, {}, f"{len(record)} fields but the header has {width}"))
                continue
            unnamed = [i + 1 for i in nameless if i < len(cells) and cells[i]]
            if unnamed:
                rows.append(Row(line, {}, f"a value in column {unnamed[0]}, which has no name in the header"))
                continue
            # zip stops at the shorter: a row with fewer fields has no value for the last columns
            values = dict(zip(header, cells, strict=False))
            if nameless:
                values.pop("", None)
            rows.append(Row(line, values))
    except csv.Error as exc:
        raise CsvFormatError(reader.line_num, f"CSV syntax error: {exc}") from None
    return Rows(tuple(header), tuple(rows))
