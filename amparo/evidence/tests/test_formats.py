"""Hash-list readers and writers: lossless round trips, clear errors, bounded memory."""

from __future__ import annotations

import contextlib
import io
import json
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.evidence import formats
from amparo.evidence.formats import FormatError, HashEntry, ReadReport

MD5 = "0123456789abcdef" * 2
SHA1 = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "ab" * 32
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def hex_of(length: int) -> st.SearchStrategy[str]:
    return st.text("0123456789abcdef", min_size=length, max_size=length)


hash_pair = st.sampled_from(formats.HASH_TYPES).flatmap(
    lambda t: st.tuples(st.just(t), hex_of(formats.HASH_LENGTHS[t]))
)
label = (
    st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(lambda text: bool(text) and text.isprintable())
)
entries = st.builds(
    lambda pair, category: HashEntry(pair[0], pair[1], category),
    hash_pair,
    st.none() | label,
)
entries_with_ids = st.builds(
    lambda pair, category, entry_id: HashEntry(pair[0], pair[1], category, entry_id),
    hash_pair,
    st.none() | label,
    st.none() | label,
)


def read(fmt: str, text: str | bytes, **options: object) -> list[HashEntry]:
    stream = io.BytesIO(text) if isinstance(text, bytes) else io.StringIO(text)
    return list(formats.read_entries(stream, fmt, **options))  # type: ignore[arg-type]


def write(fmt: str, items: list[HashEntry]) -> str:
    out = io.StringIO()
    assert formats.write_entries(items, out, fmt) == len(items)
    return out.getvalue()


# --------------------------------------------------------------------------- round trips


@given(st.lists(entries, max_size=30))
def test_csv_round_trip_is_lossless(items):
    assert read("csv", write("csv", items)) == items


@given(st.lists(hex_of(64), max_size=30))
def test_pdq_lines_round_trip_is_lossless(hashes):
    items = [HashEntry("pdq", h) for h in hashes]
    assert read("pdq", write("pdq", items)) == items


@given(st.lists(entries_with_ids, max_size=30))
def test_vics_round_trip_is_lossless(items):
    back = read("vics", write("vics", items))
    # Entries grouped into one Media record come back MD5, SHA1, then the rest.
    assert sorted(back, key=repr) == sorted(items, key=repr)


def test_vics_carries_pdq_as_an_alternative_hash_and_groups_one_media_item():
    items = [
        HashEntry("md5", MD5, "1", "42"),
        HashEntry("sha1", SHA1, "1", "42"),
        HashEntry("pdq", PDQ, "1", "42"),
        HashEntry("sha256", SHA256, "CAT A"),
    ]
    document = json.loads(write("vics", items))
    media = document["value"][0]["Media"]
    assert media[0] == {
        "MediaID": 42,
        "Category": 1,
        "MD5": MD5,
        "SHA1": SHA1,
        "AlternativeHashes": [{"HashName": "PDQ", "HashValue": PDQ}],
    }
    assert media[1] == {
        "Category": "CAT A",
        "AlternativeHashes": [{"HashName": "SHA256", "HashValue": SHA256}],
    }
    assert read("vics", write("vics", items)) == items


def test_the_export_names_the_case_when_asked():
    out = io.StringIO()
    formats.write_vics([HashEntry("md5", MD5)], out, case_name="AMP-2026-000001")
    assert json.loads(out.getvalue())["value"][0]["CaseNumber"] == "AMP-2026-000001"


def test_the_pdq_writer_refuses_other_types_unless_told_to_skip_them():
    items = [HashEntry("md5", MD5), HashEntry("pdq", PDQ)]
    with pytest.raises(ValueError, match="only PDQ"):
        formats.write_pdq_lines(items, io.StringIO())
    out = io.StringIO()
    assert formats.write_pdq_lines(items, out, skip_other=True) == 1
    assert out.getvalue() == f"pdq {PDQ}\n"


# --------------------------------------------------------------------------- CSV details


def test_csv_accepts_a_header_bom_crlf_comments_upper_case_and_empty_categories():
    text = (
        "\ufeffhash_type,hash,category\r\n"
        "# a comment\r\n"
        "\r\n"
        f"MD5,{MD5.upper()},A1\r\n"
        f"pdq,{PDQ},\r\n"
        f'sha256,{SHA256},"Cat, with comma"\r\n'
        f"sha1,{SHA1}\r\n"
    )
    assert read("csv", text) == [
        HashEntry("md5", MD5, "A1"),
        HashEntry("pdq", PDQ),
        HashEntry("sha256", SHA256, "Cat, with comma"),
        HashEntry("sha1", SHA1),
    ]
    assert read("csv", text.encode("utf-8"))[0].position == 4


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"md4,{MD5},A", "hash type must be one of"),
        (f"md5,{MD5[:-1]},A", "must have 32 hexadecimal digits, not 31"),
        (f"sha1,{'g' * 40},A", "only lower-case hexadecimal"),
        (f"pdq,{PDQ},A,extra", "Expected 3 columns"),
        ("pdq", "Expected 3 columns"),
        (f'md5,{MD5},"unclosed', "not valid CSV"),
        (f"md5,{MD5},bad\x07category", "control characters"),
        (f"md5,{MD5}," + "c" * 201, "longer than 200"),
    ],
)
def test_a_bad_csv_line_is_reported_with_its_number(line, message):
    text = f"hash_type,hash,category\npdq,{PDQ},A\n{line}\n"
    with pytest.raises(FormatError, match=message) as caught:
        read("csv", text)
    assert caught.value.line == 3
    assert str(caught.value).startswith("Line 3: ")


def test_non_strict_reading_skips_and_counts_bad_lines():
    text = f"md5,{MD5},A\nnot,a,hash\n{'x' * 5000}\npdq,{PDQ},B\n"
    report = ReadReport()
    assert read("csv", text, strict=False, report=report) == [
        HashEntry("md5", MD5, "A"),
        HashEntry("pdq", PDQ, "B"),
    ]
    assert report.read == 2
    assert report.skipped == 2
    assert report.problems[0].startswith("Line 2: ")
    assert report.problems[1] == "Line 3: The line is longer than 4096 characters."


def test_the_problem_list_is_capped_but_every_skip_is_counted():
    text = "bad,line\n" * (formats.MAX_REPORTED_PROBLEMS + 50)
    report = ReadReport()
    assert read("csv", text, strict=False, report=report) == []
    assert report.skipped == formats.MAX_REPORTED_PROBLEMS + 50
    assert len(report.problems) == formats.MAX_REPORTED_PROBLEMS


def test_invalid_utf8_is_a_format_error():
    with pytest.raises(FormatError, match="UTF-8"):
        read("csv", b"md5," + b"\xff" * 32 + b",A\n")


# --------------------------------------------------------------------------- pdq lines


def test_pdq_lines_accept_comments_spaces_and_upper_case():
    text = f"# from a partner\n\n  PDQ   {PDQ.upper()}  \npdq {PDQ}\n"
    assert read("pdq", text) == [HashEntry("pdq", PDQ), HashEntry("pdq", PDQ)]


@pytest.mark.parametrize(("line", "message"), [(f"md5 {MD5}", "form 'pdq"), ("pdq abc", "64 hexadecimal")])
def test_a_bad_pdq_line_is_reported_with_its_number(line, message):
    with pytest.raises(FormatError, match=message) as caught:
        read("pdq", f"pdq {PDQ}\n{line}\n")
    assert caught.value.line == 2


# --------------------------------------------------------------------------- VICS details


def test_vics_accepts_top_level_media_and_skips_unknown_members():
    document = {
        "odata.metadata": "x",
        "Other": {"nested": [1, 2, {"Media": "not ours"}]},
        "Media": [
            {"MediaID": "m-1", "Category": 2, "MD5": MD5.upper(), "SHA1": "", "Unknown": [1, {"a": None}]},
            {
                "MD5": None,
                "AlternativeHashes": [
                    {"HashName": "PhotoDNA", "HashValue": "opaque"},
                    {"HashName": "pdq", "HashValue": PDQ},
                    {"HashName": "SHA-256", "HashValue": SHA256},
                ],
            },
        ],
        "trailing": 1.5e3,
    }
    assert read("vics", json.dumps(document)) == [
        HashEntry("md5", MD5, "2", "m-1"),
        HashEntry("pdq", PDQ),
        HashEntry("sha256", SHA256),
    ]


def test_vics_reads_media_of_several_cases():
    document = {
        "value": [{"CaseNumber": 1, "Media": [{"MD5": MD5}]}, {"Media": []}, {"Media": [{"SHA1": SHA1}]}]
    }
    assert read("vics", json.dumps(document, indent=2)) == [HashEntry("md5", MD5), HashEntry("sha1", SHA1)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "must be a JSON object"),
        ('{"Media": {}}', "'Media' must be a JSON array"),
        ('{"value": [1]}', "Each element of 'value'"),
        ('{"Media": [1]}', "must be a JSON object"),
        ('{"Media": [{"MD5": "abc"}]}', "32 hexadecimal"),
        ('{"Media": [{"Category": true, "MD5": "' + MD5 + '"}]}', "Category"),
        ('{"Media": [{"MediaID": [1], "MD5": "' + MD5 + '"}]}', "MediaID"),
        ('{"Media": [{"AlternativeHashes": {}}]}', "must be a list"),
        ('{"Media": [{"AlternativeHashes": [1]}]}', "HashName"),
        ('{"Media": [{"Category": 1}]}', "no MD5, SHA1, SHA256 or PDQ"),
        ('{"Media": [{"MD5": "' + MD5 + '"}] "x": 1}', "malformed"),
        ('{"Media": [{"MD5": "' + MD5 + '"} {}]}', "malformed"),
        ('{"Media": [{"MD5": "' + MD5 + '"}]} trailing', "Unexpected text"),
        ('{"Media": [{"MD5": ', "ends unexpectedly"),
        ('{"Media" [', "malformed"),
        ("{", "ends unexpectedly"),
        ('{"Media": [' + "[" * 100_000 + "]" * 100_000 + "]}", "nested too deeply"),
    ],
)
def test_bad_vics_input_is_a_format_error_with_a_clear_message(text, message):
    with pytest.raises(FormatError, match=message):
        read("vics", text)


def test_a_bad_vics_record_is_numbered_and_can_be_skipped():
    text = json.dumps({"Media": [{"MD5": MD5}, {"MD5": "zz"}, {"SHA1": SHA1}]})
    with pytest.raises(FormatError, match=r"^Record 2: ") as caught:
        read("vics", text)
    assert caught.value.record == 2
    report = ReadReport()
    assert read("vics", text, strict=False, report=report) == [HashEntry("md5", MD5), HashEntry("sha1", SHA1)]
    assert report.skipped == 1


def test_an_oversized_vics_record_is_refused_without_reading_on():
    huge = json.dumps({"Media": [{"MD5": MD5, "Note": "n" * (formats.MAX_RECORD_CHARS + (1 << 17))}]})
    with pytest.raises(FormatError, match="longer than"):
        read("vics", huge)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 70_000), st.integers(0, 9))
def test_values_split_across_read_windows_are_decoded_whole(padding, digits):
    # Place a number, a string and a record right at the 64 KiB window boundary.
    number = int("7" * (digits + 1))
    text = (
        '{"pad": "'
        + "p" * padding
        + '", "n": '
        + str(number)
        + ', "Media": [{"MediaID": '
        + str(number)
        + f', "MD5": "{MD5}"'
        + "}]}"
    )
    assert read("vics", text) == [HashEntry("md5", MD5, None, str(number))]


@pytest.mark.parametrize(
    ("head", "tail"),
    [
        ('{"value": [{"CaseNumber": "synthetic", "Media": [\n', "\n]}]}\n"),  # the case form
        ('{"@odata.context": "x/2.0.xml/Default/$metadata#Media", "value": [\n', "\n]}\n"),  # flat
    ],
)
def test_a_200k_record_vics_file_streams_in_bounded_memory(tmp_path, head, tail):
    path = tmp_path / "big.json"
    with open(path, "w", encoding="utf-8") as out:
        out.write(head)
        out.write(
            ",\n".join(
                f'{{"MediaID": {i}, "Category": {i % 5}, "MD5": "{i:032x}", '
                f'"AlternativeHashes": [{{"HashName": "PDQ", "HashValue": "{i:064x}"}}]}}'
                for i in range(200_000)
            )
        )
        out.write(tail)
    assert path.stat().st_size > 30_000_000
    tracemalloc.start()
    try:
        count = 0
        last = None
        with open(path, "rb") as stream:
            for entry in formats.read_vics(stream):
                count += 1
                last = entry
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 400_000
    assert last == HashEntry("pdq", f"{199_999:064x}", "4", "199999")
    # The file is over 30 MB; the reader's window is 64 KiB plus one record.
    assert peak < 2_000_000


# --------------------------------------------------------------------------- dispatch and fuzzing


def test_unknown_formats_are_refused():
    with pytest.raises(ValueError, match="Unknown hash list format"):
        formats.read_entries(io.StringIO(""), "xml")
    with pytest.raises(ValueError, match="Unknown hash list format"):
        formats.write_entries([], io.StringIO(), "xml")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('\ufeff  {"value": []}', "vics"),
        (b"# comment\npdq " + PDQ.encode(), "pdq"),
        ("hash_type,hash,category\n", "csv"),
        ("", None),
        ("just words", None),
    ],
)
def test_the_format_is_guessed_from_the_first_bytes(head, expected):
    assert formats.guess_format(head) == expected


def test_entries_validate_themselves():
    with pytest.raises(ValueError, match="hash type"):
        HashEntry("crc32", "00")
    with pytest.raises(ValueError, match="surrounding spaces"):
        HashEntry("md5", MD5, " A ")
    assert formats.make_entry(" MD5 ", f" {MD5.upper()} ", " A ", "") == HashEntry("md5", MD5, "A")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(formats.FORMATS), st.booleans(), st.text(max_size=400) | st.binary(max_size=400))
def test_readers_raise_only_format_error_on_any_input(fmt, strict, data):
    try:
        found = read(fmt, data, strict=strict, report=ReadReport())
    except FormatError:
        return
    assert all(isinstance(entry, HashEntry) for entry in found)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10) | st.sampled_from([MD5, PDQ, SHA1]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Media",
                    "value",
                    "MD5",
                    "SHA1",
                    "Category",
                    "MediaID",
                    "AlternativeHashes",
                    "HashName",
                    "HashValue",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_vics_reader_raises_only_format_error_on_any_json_structure(value):
    with contextlib.suppress(FormatError):
        read("vics", json.dumps(value), strict=False)


class UploadLike:
    """A binary file-like object that is not an ``io`` class and has no ``mode`` (as upload wrappers)."""

    closed = False

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(size)

    def read1(self, size: int = -1) -> bytes:
        return self._inner.read1(size)

    def readinto(self, buffer: bytearray) -> int:
        return self._inner.readinto(buffer)

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False


def test_a_binary_file_like_object_without_a_mode_is_decoded_and_left_open(tmp_path):
    upload = UploadLike(f"pdq {PDQ}\n".encode())
    assert read_from(upload) == [HashEntry("pdq", PDQ)]
    path = tmp_path / "list.csv"
    path.write_bytes(f"md5,{MD5},A\n".encode())
    with open(path, "rb") as stream:
        assert list(formats.read_csv(stream)) == [HashEntry("md5", MD5, "A")]
        assert not stream.closed


def read_from(stream: object) -> list[HashEntry]:
    return list(formats.read_pdq_lines(stream))  # type: ignore[arg-type]
