"""Streaming readers and writers of hash lists, in constant memory.

Three interchange formats:

``csv``
    ``hash_type,hash,category`` per line (an optional header line with exactly those
    names), ``hash_type`` one of md5, sha1, sha256, pdq; the category may be empty.
``pdq``
    ``pdq <64 hex digits>`` per line (ThreatExchange's plain signal lists).
``vics``
    Project VIC VICS 2.0 JSON: ``{"value": [{"Media": [...]}, ...]}`` or
    ``{"Media": [...]}``; each Media record carries ``MD5``, ``SHA1``, ``Category``,
    ``MediaID`` and ``AlternativeHashes`` (PDQ as ``{"HashName": "PDQ", "HashValue":
    hex}``; SHA-256 likewise). The reader walks the JSON with a small incremental
    scanner and decodes one Media record at a time, so a list of millions of records
    never sits in memory.

In every format blank lines and lines starting with ``#`` (csv, pdq) are ignored.
Readers yield ``HashEntry`` objects and raise only ``FormatError`` (with the line or
record number) for bad input; with ``strict=False`` a bad line or record is skipped
and counted in a ``ReadReport`` instead. Hex digits are normalised to lower case;
nothing else is changed, so writing what was read and reading it again gives the
same entries.

No Django imports: the hash-list import command and the export action use these.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, TextIO

HASH_LENGTHS: dict[str, int] = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
HASH_TYPES = tuple(HASH_LENGTHS)
FORMATS = ("csv", "pdq", "vics")
CSV_HEADER = ("hash_type", "hash", "category")

MAX_LINE_CHARS = 4096  # one CSV or pdq line
MAX_RECORD_CHARS = 1 << 20  # one VICS Media record (or any other skipped JSON value)
MAX_CATEGORY_CHARS = 200
MAX_ENTRY_ID_CHARS = 200
MAX_REPORTED_PROBLEMS = 100

_HEX_RE = re.compile("[0-9a-f]+")

# VICS key names (as Project VIC writes them) for the hash types we carry.
_VICS_TOP_LEVEL = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256"}
_VICS_ALT_NAMES = {
    "pdq": "pdq",
    "md5": "md5",
    "sha1": "sha1",
    "sha-1": "sha1",
    "sha256": "sha256",
    "sha-256": "sha256",
}
_VICS_ALT_OUT = {"pdq": "PDQ", "md5": "MD5", "sha1": "SHA1", "sha256": "SHA256"}
VICS_CONTEXT = "http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml/$metadata#Cases"


class FormatError(ValueError):
    """A hash list cannot be read; ``line`` or ``record`` (1-based) says where."""

    def __init__(self, message: str, *, line: int | None = None, record: int | None = None) -> None:
        self.line = line
        self.record = record
        self.reason = message
        where = f"Line {line}: " if line is not None else (f"Record {record}: " if record is not None else "")
        super().__init__(f"{where}{message}")


@dataclass(frozen=True, slots=True)
class HashEntry:
    """One hash from a list: type, lower-case hex digits, category as received, entry id.

    ``position`` (line or record number in the source) is informative and ignored
    when entries are compared.
    """

    hash_type: str
    hash: str
    category: str | None = None
    entry_id: str | None = None
    position: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        problem = entry_problem(self.hash_type, self.hash, self.category, self.entry_id)
        if problem:
            raise ValueError(problem)


def entry_problem(hash_type: Any, value: Any, category: Any = None, entry_id: Any = None) -> str | None:
    """Why these values cannot form a ``HashEntry``, or ``None`` if they can."""
    expected = HASH_LENGTHS.get(hash_type) if isinstance(hash_type, str) else None
    if expected is None:
        return f"The hash type must be one of {', '.join(HASH_TYPES)}."
    if not isinstance(value, str):
        return "The hash must be a string of hexadecimal digits."
    if len(value) != expected:
        return f"A {hash_type} hash must have {expected} hexadecimal digits, not {len(value)}."
    if _HEX_RE.fullmatch(value) is None:
        return f"A {hash_type} hash must contain only lower-case hexadecimal digits (0-9, a-f)."
    if category is not None:
        problem = _label_problem("category", category, MAX_CATEGORY_CHARS)
        if problem:
            return problem
    if entry_id is not None:
        return _label_problem("entry id", entry_id, MAX_ENTRY_ID_CHARS)
    return None


def _label_problem(label: str, text: Any, limit: int) -> str | None:
    if not isinstance(text, str) or text == "" or text != text.strip():
        return f"The {label} must be non-empty text without surrounding spaces."
    if len(text) > limit:
        return f"The {label} is longer than {limit} characters."
    if not text.isprintable():
        return f"The {label} contains control characters."
    return None


def _entry(
    hash_type: str,
    value: Any,
    category: str | None,
    entry_id: str | None,
    *,
    line: int | None = None,
    record: int | None = None,
) -> HashEntry:
    """A validated entry, or a ``FormatError`` saying where the bad one was."""
    try:
        return HashEntry(hash_type, value, category, entry_id, line if line is not None else record)
    except ValueError as exc:
        raise FormatError(str(exc), line=line, record=record) from None


def make_entry(
    hash_type: str,
    value: str,
    category: str | None = None,
    entry_id: str | None = None,
    position: int | None = None,
) -> HashEntry:
    """A ``HashEntry`` from loosely written values: types and hex are case-folded, text is stripped."""
    category = category.strip() if isinstance(category, str) else category
    entry_id = entry_id.strip() if isinstance(entry_id, str) else entry_id
    return HashEntry(
        hash_type.strip().lower() if isinstance(hash_type, str) else hash_type,
        value.strip().lower() if isinstance(value, str) else value,
        category or None,
        entry_id or None,
        position,
    )


@dataclass
class ReadReport:
    """What a non-strict reader skipped: a count and the first problems (with positions)."""

    read: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def note(self, error: FormatError) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(str(error))


# --------------------------------------------------------------------------- text input


def _is_binary(stream: IO[Any]) -> bool:
    if isinstance(stream, io.TextIOBase):
        return False
    if isinstance(stream, io.RawIOBase | io.BufferedIOBase):
        return True
    mode = getattr(stream, "mode", None)
    if isinstance(mode, str):
        return "b" in mode
    # Any other file-like object (an upload wrapper, say): ask it for nothing and look.
    return isinstance(stream.read(0), bytes)


class _DecodedText:
    """Just enough of a text stream (``read`` and ``readline`` with a size) over a binary one.

    Decodes UTF-8 incrementally (dropping a BOM), never holds more than one block plus
    the requested size, and never closes the stream it reads.
    """

    _BLOCK = 1 << 16

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        self._buffer = ""
        self._pos = 0
        self._eof = False

    def _available(self) -> int:
        return len(self._buffer) - self._pos

    def _more(self) -> bool:
        if self._eof:
            return False
        block = self._raw.read(self._BLOCK)
        if not isinstance(block, bytes | bytearray):
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "the stream did not give bytes")
        if not block:
            self._eof = True
            decoded = self._decoder.decode(b"", final=True)
        else:
            decoded = self._decoder.decode(block)
        self._buffer = self._buffer[self._pos :] + decoded
        self._pos = 0
        return bool(block)

    def _take(self, end: int) -> str:
        chunk = self._buffer[self._pos : end]
        self._pos = end
        return chunk

    def read(self, size: int) -> str:
        while self._available() < size and self._more():
            pass
        return self._take(min(self._pos + size, len(self._buffer)))

    def readline(self, size: int) -> str:
        checked = 0  # characters after the position already known to hold no newline
        while True:
            start = self._pos
            end = self._buffer.find("\n", start + checked, start + size)
            if end >= 0:
                return self._take(end + 1)
            if self._available() >= size:
                return self._take(start + size)
            checked = self._available()
            if not self._more():
                return self._take(len(self._buffer))


@contextmanager
def _text(stream: IO[Any]) -> Iterator[TextIO]:
    """A text view of ``stream``: binary streams are decoded as UTF-8 (a BOM is dropped)."""
    yield _DecodedText(stream) if _is_binary(stream) else stream  # type: ignore[misc]


def _read(text: TextIO, size: int, *, line: int | None = None, record: int | None = None) -> str:
    try:
        chunk = text.read(size) if line is None else text.readline(size)
    except UnicodeDecodeError:
        raise FormatError("The file is not valid UTF-8 text.", line=line, record=record) from None
    if not isinstance(chunk, str):
        raise FormatError("The stream did not give text.", line=line, record=record)
    return chunk


def _lines(text: TextIO) -> Iterator[tuple[int, str | FormatError]]:
    """Number and text of each line (without its end), never more than ``MAX_LINE_CHARS`` at once.

    An over-long line is consumed and reported as a ``FormatError`` item.
    """
    number = 0
    while True:
        number += 1
        line = _read(text, MAX_LINE_CHARS + 1, line=number)
        if not line:
            return
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
            while True:  # drop the rest of the over-long line
                rest = _read(text, MAX_LINE_CHARS, line=number)
                if not rest or rest.endswith("\n"):
                    break
            yield number, FormatError(f"The line is longer than {MAX_LINE_CHARS} characters.", line=number)
            continue
        yield number, line.rstrip("\r\n")


def _skip_or_raise(error: FormatError, strict: bool, report: ReadReport | None) -> None:
    if strict:
        raise error
    if report is not None:
        report.note(error)


# --------------------------------------------------------------------------- CSV


def read_csv(
    stream: IO[Any], *, strict: bool = True, report: ReadReport | None = None
) -> Iterator[HashEntry]:
    """Entries of a ``hash_type,hash,category`` CSV list, one line at a time."""
    with _text(stream) as text:
        yield from _read_csv(text, strict, report)


def _read_csv(text: TextIO, strict: bool, report: ReadReport | None) -> Iterator[HashEntry]:
    first_content = True
    for number, line in _lines(text):
        try:
            if isinstance(line, FormatError):
                raise line
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                fields = next(csv.reader([line], strict=True))
            except csv.Error as exc:
                raise FormatError(f"The line is not valid CSV ({exc}).", line=number) from None
            if first_content:
                first_content = False
                if tuple(f.strip().lower() for f in fields) == CSV_HEADER:
                    continue
            if len(fields) not in (2, 3):
                raise FormatError(
                    f"Expected 3 columns (hash_type,hash,category), found {len(fields)}.", line=number
                )
            hash_type, value = fields[0].strip().lower(), fields[1].strip().lower()
            category = fields[2].strip() if len(fields) == 3 else ""
            entry = _entry(hash_type, value, category or None, None, line=number)
        except FormatError as error:
            _skip_or_raise(error, strict, report)
            continue
        if report is not None:
            report.read += 1
        yield entry


def write_csv(entries: Iterable[HashEntry], stream: TextIO, *, header: bool = True) -> int:
    """Write entries as CSV (entry ids are not part of this format); return how many."""
    writer = csv.writer(stream, lineterminator="\n")
    if header:
        writer.writerow(CSV_HEADER)
    count = 0
    for entry in entries:
        writer.writerow((entry.hash_type, entry.hash, entry.category or ""))
        count += 1
    return count


# --------------------------------------------------------------------------- pdq lines


def read_pdq_lines(
    stream: IO[Any], *, strict: bool = True, report: ReadReport | None = None
) -> Iterator[HashEntry]:
    """Entries of a plain ``pdq <hex>`` list."""
    with _text(stream) as text:
        yield from _read_pdq_lines(text, strict, report)


def _read_pdq_lines(text: TextIO, strict: bool, report: ReadReport | None) -> Iterator[HashEntry]:
    for number, line in _lines(text):
        try:
            if isinstance(line, FormatError):
                raise line
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            parts = stripped.split()
            if len(parts) != 2 or parts[0].lower() != "pdq":
                raise FormatError("Expected a line of the form 'pdq <64 hexadecimal digits>'.", line=number)
            entry = _entry("pdq", parts[1].lower(), None, None, line=number)
        except FormatError as error:
            _skip_or_raise(error, strict, report)
            continue
        if report is not None:
            report.read += 1
        yield entry


def write_pdq_lines(entries: Iterable[HashEntry], stream: TextIO, *, skip_other: bool = False) -> int:
    """Write PDQ entries as ``pdq <hex>`` lines; return how many.

    Other hash types raise ``ValueError`` unless ``skip_other`` (this format cannot hold
    them, nor categories).
    """
    count = 0
    for entry in entries:
        if entry.hash_type != "pdq":
            if skip_other:
                continue
            raise ValueError(
                "The pdq format holds only PDQ hashes; pass skip_other=True to leave others out."
            )
        stream.write(f"pdq {entry.hash}\n")
        count += 1
    return count


# --------------------------------------------------------------------------- VICS JSON


class _JsonScanner:
    """Walks a JSON text incrementally over a bounded window of the stream."""

    _decoder = json.JSONDecoder()

    def __init__(self, text: TextIO, record_counter: list[int]) -> None:
        self.text = text
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.records = record_counter  # shared so errors can say which record

    def _error(self, message: str) -> FormatError:
        return FormatError(message, record=self.records[0] or None)

    def _fill(self, minimum: int = 1) -> bool:
        """Make at least ``minimum`` characters available after ``pos``; False at end of input."""
        while len(self.buf) - self.pos < minimum and not self.eof:
            chunk = _read(self.text, 1 << 16, record=self.records[0] or None)
            if not chunk:
                self.eof = True
                break
            self.buf = self.buf[self.pos :] + chunk
            self.pos = 0
        return len(self.buf) - self.pos >= minimum

    def peek(self) -> str:
        self.skip_ws()
        if not self._fill():
            raise self._error("The JSON text ends unexpectedly.")
        return self.buf[self.pos]

    def skip_ws(self) -> None:
        while True:
            if not self._fill():
                return
            buf, pos = self.buf, self.pos
            end = len(buf)
            while pos < end and buf[pos] in " \t\r\n":
                pos += 1
            self.pos = pos
            if pos < end:
                return

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self._error(f"Expected '{char}' in the JSON text.")
        self.pos += 1

    def value(self) -> Any:
        """Decode one JSON value of at most ``MAX_RECORD_CHARS`` characters."""
        self.skip_ws()
        want = 1 << 16
        while True:
            self._fill(want)
            available = len(self.buf) - self.pos
            try:
                value, end = self._decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise self._error(f"The JSON text is malformed ({exc.msg}).") from None
                complete = False
            except RecursionError:
                raise self._error("The JSON text is nested too deeply.") from None
            else:
                # A number at the very end of the window may continue in the next chunk.
                complete = self.eof or end < len(self.buf) or isinstance(value, dict | list | str)
            if complete:
                if end - self.pos > MAX_RECORD_CHARS:
                    raise self._error(f"A JSON value is longer than {MAX_RECORD_CHARS} characters.")
                self.pos = end
                return value
            if available >= MAX_RECORD_CHARS:
                raise self._error(f"A JSON value is malformed or longer than {MAX_RECORD_CHARS} characters.")
            want = min(max(want, available) * 2, MAX_RECORD_CHARS)

    def string(self) -> str:
        if self.peek() != '"':
            raise self._error("Expected a quoted name in the JSON text.")
        value = self.value()
        if not isinstance(value, str):  # pragma: no cover - raw_decode of '"' gives a str
            raise self._error("Expected a quoted name in the JSON text.")
        return value

    def members(self) -> Iterator[str]:
        """Names of an object's members; the caller consumes each value."""
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            name = self.string()
            self.expect(":")
            yield name
            char = self.peek()
            self.pos += 1
            if char == "}":
                return
            if char != ",":
                raise self._error("Expected ',' or '}' in a JSON object.")

    def elements(self) -> Iterator[None]:
        """Step through an array's elements; the caller consumes each one."""
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield None
            char = self.peek()
            self.pos += 1
            if char == "]":
                return
            if char != ",":
                raise self._error("Expected ',' or ']' in a JSON array.")

    def at_end(self) -> bool:
        self.skip_ws()
        return not self._fill()


def _media_entries(record: Any, number: int) -> list[HashEntry]:
    if not isinstance(record, dict):
        raise FormatError("A Media record must be a JSON object.", record=number)
    category = record.get("Category")
    if isinstance(category, bool) or not isinstance(category, str | int | type(None)):
        raise FormatError("The Category must be text or a whole number.", record=number)
    category_text = None if category is None else str(category).strip() or None
    media_id = record.get("MediaID")
    if isinstance(media_id, bool) or not isinstance(media_id, str | int | type(None)):
        raise FormatError("The MediaID must be text or a whole number.", record=number)
    entry_id = None if media_id is None else str(media_id).strip() or None
    found: list[tuple[str, Any]] = []
    for key, hash_type in _VICS_TOP_LEVEL.items():
        if record.get(key) not in (None, ""):
            found.append((hash_type, record[key]))
    alternatives = record.get("AlternativeHashes")
    if alternatives is not None:
        if not isinstance(alternatives, list):
            raise FormatError("AlternativeHashes must be a list.", record=number)
        for alt in alternatives:
            if not isinstance(alt, dict) or not isinstance(alt.get("HashName"), str):
                raise FormatError("Each alternative hash needs a HashName and a HashValue.", record=number)
            hash_type = _VICS_ALT_NAMES.get(alt["HashName"].strip().lower())
            if hash_type is None:
                continue  # other algorithms (e.g. PhotoDNA) are not ours to carry
            found.append((hash_type, alt.get("HashValue")))
    if not found:
        raise FormatError("The Media record has no MD5, SHA1, SHA256 or PDQ hash.", record=number)
    return [
        _entry(
            hash_type,
            value.strip().lower() if isinstance(value, str) else value,
            category_text,
            entry_id,
            record=number,
        )
        for hash_type, value in found
    ]


def read_vics(
    stream: IO[Any], *, strict: bool = True, report: ReadReport | None = None
) -> Iterator[HashEntry]:
    """Entries of a VICS 2.0 JSON list, decoding one Media record at a time.

    Structural damage (broken JSON outside a record) always raises ``FormatError``;
    with ``strict=False`` a Media record that is valid JSON but has a bad hash is
    skipped.
    """
    with _text(stream) as text:
        yield from _read_vics(text, strict, report)


def _read_vics(text: TextIO, strict: bool, report: ReadReport | None) -> Iterator[HashEntry]:
    counter = [0]
    scanner = _JsonScanner(text, counter)
    if scanner.peek() != "{":
        raise FormatError("A VICS file must be a JSON object with 'value' or 'Media'.")

    def media_array() -> Iterator[HashEntry]:
        if scanner.peek() != "[":
            raise scanner._error("'Media' must be a JSON array.")
        for _ in scanner.elements():
            counter[0] += 1
            record = scanner.value()
            try:
                entries = _media_entries(record, counter[0])
            except FormatError as error:
                _skip_or_raise(error, strict, report)
                continue
            if report is not None:
                report.read += len(entries)
            yield from entries

    for name in scanner.members():
        if name == "Media":
            yield from media_array()
        elif name == "value":
            if scanner.peek() != "[":
                raise scanner._error("'value' must be a JSON array of cases.")
            for _ in scanner.elements():
                if scanner.peek() != "{":
                    raise scanner._error("Each case in 'value' must be a JSON object.")
                for case_key in scanner.members():
                    if case_key == "Media":
                        yield from media_array()
                    else:
                        scanner.value()
        else:
            scanner.value()
    if not scanner.at_end():
        raise scanner._error("Unexpected text after the end of the JSON object.")


def _vics_record(group: list[HashEntry]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    first = group[0]
    if first.entry_id is not None:
        record["MediaID"] = int(first.entry_id) if _is_canonical_int(first.entry_id) else first.entry_id
    if first.category is not None:
        record["Category"] = int(first.category) if _is_canonical_int(first.category) else first.category
    alternatives = []
    for entry in group:
        key = {"md5": "MD5", "sha1": "SHA1"}.get(entry.hash_type)
        if key and key not in record:
            record[key] = entry.hash
        else:
            alternatives.append({"HashName": _VICS_ALT_OUT[entry.hash_type], "HashValue": entry.hash})
    if alternatives:
        record["AlternativeHashes"] = alternatives
    return record


def _is_canonical_int(text: str) -> bool:
    return text.isascii() and (text == "0" or (text[:1] in "123456789" and text.isdigit())) and len(text) < 16


def write_vics(entries: Iterable[HashEntry], stream: TextIO, *, case_name: str | None = None) -> int:
    """Write entries as VICS 2.0 JSON; return how many entries were written.

    Consecutive entries with the same (non-empty) entry id and category become one
    Media record (MD5 and SHA1 top-level, the rest in AlternativeHashes); an entry
    without an id is a record of its own. Written incrementally.
    """
    stream.write('{"@odata.context": ' + json.dumps(VICS_CONTEXT) + ', "value": [{')
    if case_name is not None:
        stream.write('"CaseNumber": ' + json.dumps(case_name) + ", ")
    stream.write('"Media": [')
    count = 0
    first_record = True
    group: list[HashEntry] = []

    def flush() -> None:
        nonlocal first_record
        if group:
            stream.write(
                ("\n" if first_record else ",\n") + json.dumps(_vics_record(group), ensure_ascii=False)
            )
            first_record = False
            group.clear()

    for entry in entries:
        if group and not (
            entry.entry_id is not None
            and entry.entry_id == group[0].entry_id
            and entry.category == group[0].category
        ):
            flush()
        group.append(entry)
        count += 1
    flush()
    stream.write("\n]}]}\n")
    return count


# --------------------------------------------------------------------------- dispatch

_READERS = {"csv": read_csv, "pdq": read_pdq_lines, "vics": read_vics}


def read_entries(
    stream: IO[Any], fmt: str, *, strict: bool = True, report: ReadReport | None = None
) -> Iterator[HashEntry]:
    """Entries of a list in format ``fmt`` (``csv``, ``pdq`` or ``vics``)."""
    try:
        reader = _READERS[fmt]
    except KeyError:
        raise ValueError(f"Unknown hash list format {fmt!r}; choose one of {', '.join(FORMATS)}.") from None
    return reader(stream, strict=strict, report=report)


def write_entries(entries: Iterable[HashEntry], stream: TextIO, fmt: str) -> int:
    """Write entries in format ``fmt``; return how many were written."""
    if fmt == "csv":
        return write_csv(entries, stream)
    if fmt == "pdq":
        return write_pdq_lines(entries, stream)
    if fmt == "vics":
        return write_vics(entries, stream)
    raise ValueError(f"Unknown hash list format {fmt!r}; choose one of {', '.join(FORMATS)}.")


def guess_format(head: str | bytes) -> str | None:
    """Guess a list's format from its first bytes (``None`` if unsure)."""
    if isinstance(head, bytes):
        head = codecs.decode(head[:4096], "utf-8", errors="ignore")
    stripped = head.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        return "vics"
    for line in stripped.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("pdq ") and "," not in line:
            return "pdq"
        if "," in line:
            return "csv"
        return None
    return None
