"""Streaming readers and writers of hash lists, in constant memory.

Three interchange formats:

``csv``
    ``hash_type,hash,category`` per line (an optional header line with exactly those
    names), ``hash_type`` one of md5, sha1, sha256, pdq; the category may be empty.
``pdq``
    ``pdq <64 hex digits>`` per line (ThreatExchange's plain signal lists).
``vics``
    Project VIC VICS 1.3 and 2.0 JSON in the three shapes partners send: flat
    (``{"@odata.context": ".../$metadata#Media", "value": [<Media record>, ...]}``, or
    1.3's ``"odata.metadata"``), cases (``{"value": [{"Media": [...]}, ...]}``) and a
    bare ``{"Media": [...]}``. Each Media record carries ``MD5``, ``SHA1``, ``Category``,
    ``MediaID`` and ``AlternativeHashes`` (PDQ as ``{"HashName": "PDQ", "HashValue":
    hex}``; SHA-256 likewise), member names in any letter case. ijson walks the text and
    one Media record at a time is built, so a list of millions of records never sits in
    memory. PhotoDNA and other hashes Amparo does not match are counted, not kept.
    ``write_vics_media`` writes a case's export (decision 0023).

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
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, TextIO

import ijson

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
_VICS_TOP_LEVEL = {"md5": "md5", "sha1": "sha1", "sha256": "sha256"}
_VICS_ALT_NAMES = {
    "pdq": "pdq",
    "md5": "md5",
    "sha1": "sha1",
    "sha-1": "sha1",
    "sha256": "sha256",
    "sha-256": "sha256",
}
_VICS_ALT_OUT = {"pdq": "PDQ", "md5": "MD5", "sha1": "SHA1", "sha256": "SHA256"}
VICS_CONTEXT_BASE = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml"
VICS_SHAPES = (
    '{"value": [{"MediaID": 1, "MD5": "...", ...}]} (flat, #Media), '
    '{"value": [{"Media": [{"MD5": "...", ...}]}]} (cases, #Cases) or {"Media": [...]}.'
)
MAX_JSON_DEPTH = 64


class FormatError(ValueError):
    """A hash list cannot be read; ``line`` or ``record`` (1-based) says where, ``code`` why (a short
    stable name, used to count skipped records by reason)."""

    def __init__(
        self, message: str, *, line: int | None = None, record: int | None = None, code: str = "malformed"
    ) -> None:
        self.line = line
        self.record = record
        self.reason = message
        self.code = code
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
        message = str(exc)
        code = (
            "bad_category"
            if message.startswith("The category")
            else "bad_media_id"
            if message.startswith("The entry id")
            else "bad_hash"
        )
        raise FormatError(message, line=line, record=record, code=code) from None


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
    """What a reader read and (non-strict) skipped: counts, and the first problems with positions.

    ``records`` counts lines or Media records holding hashes, ``read`` the hashes taken from them
    (``by_type`` per hash type), ``skipped`` the records left out (``skipped_by_reason`` per
    ``FormatError.code``) and ``not_kept`` hashes of types Amparo does not match (PhotoDNA, ...),
    by the name the file gives them.
    """

    read: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    records: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    skipped_by_reason: Counter[str] = field(default_factory=Counter)
    not_kept: Counter[str] = field(default_factory=Counter)

    def note(self, error: FormatError) -> None:
        self.skipped += 1
        self.skipped_by_reason[error.code] += 1
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
            report.records += 1
            report.by_type[entry.hash_type] += 1
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
            report.records += 1
            report.by_type[entry.hash_type] += 1
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


class _JsonBytes:
    """The bytes of a JSON text for ijson: a binary stream as it is (a UTF-8 BOM dropped) or a text
    stream encoded as UTF-8, counting what was read so that one value cannot grow without bound.

    ``mark`` is moved by the reader to where the current record (or, outside records, the current
    token) began; reading on more than ``MAX_RECORD_CHARS`` bytes past it is a ``FormatError``.
    """

    def __init__(self, stream: IO[Any]) -> None:
        self._stream = stream
        self._binary = _is_binary(stream)
        self._first = True
        self.offset = 0
        self.mark = 0
        self.record: int | None = None

    def read(self, size: int = -1) -> bytes:
        if self.offset - self.mark > MAX_RECORD_CHARS:
            raise FormatError(
                f"A JSON value is longer than {MAX_RECORD_CHARS} characters.",
                record=self.record,
                code="too_long",
            )
        chunk = self._stream.read(size)
        if not self._binary:
            if not isinstance(chunk, str):
                raise FormatError("The stream did not give text.", record=self.record)
            try:
                chunk = chunk.encode("utf-8")
            except UnicodeEncodeError:
                raise FormatError("The file is not valid UTF-8 text.", record=self.record) from None
        elif not isinstance(chunk, bytes | bytearray):
            raise FormatError("The stream did not give bytes.", record=self.record)
        if self._first and chunk:
            self._first = False
            if chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8) :]
        self.offset += len(chunk)
        return bytes(chunk)


# yajl's own messages quote the text around the error; ours say what is wrong without quoting it.
_YAJL_PROBLEMS = (
    ("premature eof", "The JSON text ends unexpectedly."),
    ("trailing garbage", "Unexpected text after the end of the JSON object."),
    ("invalid bytes in utf8", "The file is not valid UTF-8 text."),
    ("integer overflow", "A number in the JSON text is too large."),
)


class _Events:
    """Pull access to ijson's parse events with the reader's limits (depth, record size)."""

    def __init__(self, source: _JsonBytes) -> None:
        self.source = source
        self._events = ijson.basic_parse(source, use_float=True, buf_size=1 << 16)

    def error(self, message: str, code: str = "malformed") -> FormatError:
        return FormatError(message, record=self.source.record, code=code)

    def next(self) -> tuple[str, Any]:
        try:
            return next(self._events)
        except StopIteration:
            raise self.error("The JSON text ends unexpectedly.") from None
        except ijson.JSONError as exc:
            text = str(exc).lower()
            for needle, message in _YAJL_PROBLEMS:
                if needle in text:
                    raise self.error(message) from None
            raise self.error("The JSON text is malformed.") from None

    def end(self) -> None:
        """Check that nothing but white space follows the top-level value."""
        try:
            next(self._events)
        except StopIteration:
            return
        except ijson.JSONError:
            pass
        raise FormatError("Unexpected text after the end of the JSON object.", code="malformed")

    def _walk(self, event: str, value: Any, builder: Any) -> None:
        depth = 0
        while True:
            if builder is not None:
                builder.event(event, value)
            if event in ("start_map", "start_array"):
                depth += 1
                if depth > MAX_JSON_DEPTH:
                    raise self.error("The JSON text is nested too deeply.")
            elif event in ("end_map", "end_array"):
                depth -= 1
            if depth == 0:
                return
            event, value = self.next()
            if builder is None:
                self.source.mark = self.source.offset  # skipped values are bounded token by token

    def build(self, event: str, value: Any) -> Any:
        """The whole value that starts with this event (bounded in size and depth)."""
        if event not in ("start_map", "start_array"):
            return value
        builder = ijson.ObjectBuilder()
        self._walk(event, value, builder)
        return builder.value

    def skip(self, event: str, value: Any) -> None:
        self._walk(event, value, None)

    def members(self) -> Iterator[str]:
        """Names of the members of the object just opened; the caller consumes each value."""
        while True:
            event, value = self.next()
            if event == "end_map":
                return
            yield value  # a map_key: ijson gives nothing else here

    def elements(self) -> Iterator[tuple[str, Any]]:
        """First event of each element of the array just opened; the caller consumes the rest."""
        while True:
            event, value = self.next()
            if event == "end_array":
                return
            yield event, value


def _fold(record: dict[str, Any]) -> dict[str, Any]:
    """A record's members by lower-case name (VICS writers differ in letter case)."""
    return {key.lower(): value for key, value in record.items()}


def _not_kept(report: ReadReport | None, name: str) -> None:
    if report is None:
        return
    label = name.strip()[:40] if isinstance(name, str) and name.strip().isprintable() else "?"
    if label not in report.not_kept and len(report.not_kept) >= 20:
        label = "other"
    report.not_kept[label] += 1


def _media_entries(record: Any, number: int, report: ReadReport | None = None) -> list[HashEntry]:
    if not isinstance(record, dict):
        raise FormatError("A Media record must be a JSON object.", record=number, code="not_an_object")
    fields = _fold(record)
    category = fields.get("category")
    if isinstance(category, bool) or not isinstance(category, str | int | type(None)):
        raise FormatError("The Category must be text or a whole number.", record=number, code="bad_category")
    category_text = None if category is None else str(category).strip() or None
    media_id = fields.get("mediaid")
    if isinstance(media_id, bool) or not isinstance(media_id, str | int | type(None)):
        raise FormatError("The MediaID must be text or a whole number.", record=number, code="bad_media_id")
    entry_id = None if media_id is None else str(media_id).strip() or None
    found: list[tuple[str, Any]] = []
    for key, hash_type in _VICS_TOP_LEVEL.items():
        if fields.get(key) not in (None, ""):
            found.append((hash_type, fields[key]))
    alternatives = fields.get("alternativehashes")
    if alternatives is not None and not isinstance(alternatives, list):
        raise FormatError("AlternativeHashes must be a list.", record=number, code="bad_alternative_hashes")
    not_kept: list[str] = ["PhotoDNA"] if fields.get("photodna") not in (None, "") else []
    for alt in alternatives or ():
        alt_fields = _fold(alt) if isinstance(alt, dict) else {}
        if not isinstance(alt_fields.get("hashname"), str):
            raise FormatError(
                "Each alternative hash needs a HashName and a HashValue.",
                record=number,
                code="bad_alternative_hashes",
            )
        hash_type = _VICS_ALT_NAMES.get(alt_fields["hashname"].strip().lower())
        if hash_type is None:
            not_kept.append(alt_fields["hashname"])  # e.g. PhotoDNA: not ours to match, counted
            continue
        found.append((hash_type, alt_fields.get("hashvalue")))
    if not found:
        raise FormatError(
            "The Media record has no MD5, SHA1, SHA256 or PDQ hash.", record=number, code="no_hash"
        )
    entries = [
        _entry(
            hash_type,
            value.strip().lower() if isinstance(value, str) else value,
            category_text,
            entry_id,
            record=number,
        )
        for hash_type, value in found
    ]
    for name in not_kept:
        _not_kept(report, name)
    return entries


def read_vics(
    stream: IO[Any], *, strict: bool = True, report: ReadReport | None = None
) -> Iterator[HashEntry]:
    """Entries of a VICS JSON hash set (1.3 or 2.0; flat, case or bare ``Media`` form), one Media
    record at a time: ijson walks the text and only one record is ever built.

    Structural damage (broken JSON, a wrong shape) always raises ``FormatError``; with
    ``strict=False`` a Media record that is valid JSON but unusable (a bad hash, no hash) is
    skipped and counted by reason in ``report``.
    """
    yield from _read_vics(_JsonBytes(stream), strict, report)


def _read_vics(source: _JsonBytes, strict: bool, report: ReadReport | None) -> Iterator[HashEntry]:
    events = _Events(source)
    counter = 0

    def media(record: Any) -> Iterator[HashEntry]:
        try:
            entries = _media_entries(record, counter, report)
        except FormatError as error:
            _skip_or_raise(error, strict, report)
            return
        if report is not None:
            report.read += len(entries)
            for entry in entries:
                report.by_type[entry.hash_type] += 1
        yield from entries

    def start_record() -> None:
        nonlocal counter
        counter += 1
        source.record = counter
        source.mark = source.offset
        if report is not None:
            report.records += 1

    def media_array(event: str) -> Iterator[HashEntry]:
        if event != "start_array":
            raise events.error("'Media' must be a JSON array.")
        for event, value in events.elements():
            start_record()
            yield from media(events.build(event, value))

    def value_item(event: str, value: Any) -> Iterator[HashEntry]:
        """One element of ``value``: a Media record (the flat form) or a case holding ``Media``."""
        if event != "start_map":
            raise events.error("Each element of 'value' must be a JSON object (a Media record or a case).")
        start_record()
        record: dict[str, Any] = {}
        is_case = False
        for key in events.members():
            event, value = events.next()
            if key.lower() == "media" and event == "start_array":
                if not is_case:  # it was a case, not a record: it is not counted as one
                    is_case = True
                    nonlocal counter
                    counter -= 1
                    if report is not None:
                        report.records -= 1
                yield from media_array(event)
            elif is_case:
                events.skip(event, value)
            else:
                record[key] = events.build(event, value)
        if not is_case:
            yield from media(record)

    event, _ = events.next()
    if event != "start_map":
        raise FormatError(f"A VICS file must be a JSON object; expected {VICS_SHAPES}", code="malformed")
    for name in events.members():
        source.mark = source.offset
        event, value = events.next()
        if name.lower() == "media":
            yield from media_array(event)
        elif name.lower() == "value":
            if event != "start_array":
                raise events.error("'value' must be a JSON array of Media records or of cases.")
            for event, value in events.elements():
                yield from value_item(event, value)
        else:
            events.skip(event, value)
    events.end()


@dataclass(frozen=True, slots=True)
class VicsMedia:
    """One Media record of a VICS export: one distinct file (by MD5) and what is known of it."""

    media_id: int
    md5: str | None = None
    sha1: str | None = None
    size: int | None = None
    category: int | None = None
    alternatives: tuple[tuple[str, str], ...] = ()  # (hash type, value): sha256, pdq, further ones

    @property
    def hash_count(self) -> int:
        return bool(self.md5) + bool(self.sha1) + len(self.alternatives)

    def as_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"MediaID": self.media_id}
        if self.category is not None:
            record["Category"] = self.category
        if self.md5:
            record["MD5"] = self.md5.upper()
        if self.sha1:
            record["SHA1"] = self.sha1.upper()
        if self.size is not None:
            record["MediaSize"] = self.size
        if self.alternatives:
            record["AlternativeHashes"] = [
                {"HashName": _VICS_ALT_OUT[kind], "HashValue": value} for kind, value in self.alternatives
            ]
        return record


def vics_context(region: str = "Default", collection: str = "Cases") -> str:
    """The ``@odata.context`` of a VICS 2.0 file for a region (``Default``, ``US``, ``UK``, ...)."""
    if not region or not all(ch.isalnum() or ch in "-_" for ch in region):
        raise ValueError("The VICS region must be letters, digits, '-' or '_' (e.g. Default, US, UK).")
    return f"{VICS_CONTEXT_BASE}/{region}/$metadata#{collection}"


# Project VIC's categories, in the order of pertinence an export chooses from when several apply.
VICS_CATEGORY_ORDER = (1, 2, 3, 4, 0)
# Classifications Amparo holds (NCMEC's ESP industry classification A1-B2: a minor in a sexual act or a
# lascivious exhibition; hash-list labels) and the VICS category each means.
_VICS_CATEGORY_OF_LABEL = {
    "a1": 1,
    "a2": 1,
    "b1": 1,
    "b2": 1,
    "csam": 1,
    "cam": 1,
    "child abuse material": 1,
    "child exploitive": 2,
    "age difficult": 2,
    "cgi": 3,
    "animation": 3,
    "comparison": 4,
    "non-pertinent": 0,
    "non pertinent": 0,
}


def vics_category(labels: Iterable[str | None]) -> int | None:
    """The VICS category (0-4) for an item's classification labels, the most pertinent one if
    several apply; ``None`` when none is known (the record then carries no Category)."""
    found: set[int] = set()
    for label in labels:
        text = (label or "").strip().lower()
        if text in {"0", "1", "2", "3", "4"}:
            found.add(int(text))
        elif text.startswith("cat") and text[3:].strip() in {"0", "1", "2", "3", "4"}:
            found.add(int(text[3:].strip()))
        elif text in _VICS_CATEGORY_OF_LABEL:
            found.add(_VICS_CATEGORY_OF_LABEL[text])
    return next((category for category in VICS_CATEGORY_ORDER if category in found), None)


def write_vics_media(
    records: Iterable[VicsMedia], stream: TextIO, *, case_name: str | None = None, region: str = "Default"
) -> int:
    """Write a VICS 2.0 case file (``#Cases``: one case holding the Media records); return how many
    records. Written incrementally."""
    stream.write('{"@odata.context": ' + json.dumps(vics_context(region)) + ', "value": [{')
    if case_name is not None:
        stream.write('"CaseNumber": ' + json.dumps(case_name) + ", ")
    stream.write('"Media": [')
    count = 0
    for record in records:
        stream.write(("\n" if count == 0 else ",\n") + json.dumps(record.as_json(), ensure_ascii=False))
        count += 1
    stream.write("\n]}]}\n")
    return count


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


def write_vics(
    entries: Iterable[HashEntry], stream: TextIO, *, case_name: str | None = None, region: str = "Default"
) -> int:
    """Write hash-list entries as VICS 2.0 JSON; return how many entries were written.

    Consecutive entries with the same (non-empty) entry id and category become one
    Media record (MD5 and SHA1 top-level, the rest in AlternativeHashes); an entry
    without an id is a record of its own. Written incrementally. (A case's export, one
    record per distinct file, is ``write_vics_media``.)
    """
    stream.write('{"@odata.context": ' + json.dumps(vics_context(region)) + ', "value": [{')
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
