"""The CyberTipline package reader: what it extracts, and what it refuses.

The example package (amparo/evidence/tests/data/cybertip/) is invented; its image is a
plain generated picture.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amparo.lib import cybertip
from amparo.lib.cybertip import CyberTipError, parse_package, parse_report_xml

EXAMPLE = Path(__file__).resolve().parents[2] / "evidence" / "tests" / "data" / "cybertip" / "example-package"
NS = 'xmlns="http://report.cybertip.org/leaws/icac"'


def zip_folder(folder: Path, target: Path, *, top: str | None = None) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                archive.write(path, f"{top}/{name}" if top else name)
    return target


def minimal(body: str = "", *, namespace: bool = True) -> bytes:
    return f"<report {NS if namespace else ''}><reportId>42</reportId>{body}</report>".encode()


# --------------------------------------------------------------------------- the example package


def check_example(report: cybertip.CyberTipReport) -> None:
    assert report.report_id == "190000001"
    assert report.incident_type == "Child Pornography (possession, manufacture, and distribution)"
    assert report.incident_date == datetime(2026, 9, 14, 18, 22, 5, tzinfo=UTC)
    assert report.escalate is False
    assert report.annotations == ["sextortion"]
    assert report.priority == "high"  # sextortion raises it even without NCMEC's flag
    assert report.forms == ["csam_possession", "csam_distribution", "csam_production", "sextortion"]
    assert report.reporter_company == "Example Platform Inc."
    [person] = report.reported_persons
    assert person.emails == ["fake.user@example.test"]
    assert person.screen_names == ["mz_fake_user_01"]
    assert person.esp_identifiers == ["1000457788"]
    assert person.phones == [cybertip.Phone("840000001", "258")]
    assert person.phones[0].international == "+258840000001"
    assert report.ip_events == [
        cybertip.IpEvent(
            "192.0.2.45", "Login", datetime(2026, 9, 14, 17, 59, 40, tzinfo=UTC), "2026-09-14T17:59:40Z"
        )
    ]
    assert report.estimated_location == cybertip.Location(country="MZ", region="Nampula", city="Nampula")
    assert report.victim_age == 14
    [reported_file] = report.files
    assert reported_file.location == "Media/image_0001.jpg"
    assert reported_file.declared_hashes == {"md5": "601d04ab5d3644389bafa70b1a3fd347"}
    assert reported_file.industry_classification == "B2"
    assert reported_file.viewed_by_esp is True
    assert reported_file.publicly_available is False
    assert report.additional_info == [
        "Account sent threats to share images unless more were sent. Fictitious example."
    ]


def test_the_example_folder_is_read_completely():
    with parse_package(EXAMPLE) as package:
        check_example(package.report)
        assert package.xml_path == "report.xml"
        [(reported, present)] = list(package.files())
        assert present
        assert package.verify(reported) == {"md5": True}


@pytest.mark.parametrize("top", [None, "CT-190000001"])
def test_a_zip_of_the_package_reads_the_same_with_or_without_a_top_folder(tmp_path, top):
    path = zip_folder(EXAMPLE, tmp_path / "package.zip", top=top)
    with parse_package(path) as package:
        check_example(package.report)
        reported = package.report.files[0]
        assert package.verify(reported) == {"md5": True}
        with package.open("Media/image_0001.jpg") as stream:
            data = stream.read()
    assert hashlib.md5(data, usedforsecurity=False).hexdigest() == "601d04ab5d3644389bafa70b1a3fd347"


def test_a_changed_media_file_fails_verification(tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(EXAMPLE, copy)
    media = copy / "Media" / "image_0001.jpg"
    media.write_bytes(media.read_bytes() + b"\x00")
    with parse_package(copy) as package:
        assert package.verify(package.report.files[0]) == {"md5": False}


def test_a_lone_report_xml_is_read_without_media(tmp_path):
    with parse_package(EXAMPLE / "report.xml") as package:
        check_example(package.report)
        assert list(package.files()) == [(package.report.files[0], False)]


def test_a_declared_file_missing_from_the_package_is_reported_absent(tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(EXAMPLE, copy)
    (copy / "Media" / "image_0001.jpg").unlink()
    with parse_package(copy) as package:
        assert [present for _, present in package.files()] == [False]
        with pytest.raises(CyberTipError, match="not in the package"):
            package.open("Media/image_0001.jpg")


# --------------------------------------------------------------------------- tolerance


def test_a_report_with_only_its_id_is_accepted_without_namespace():
    report = parse_report_xml(minimal(namespace=False))
    assert report.report_id == "42"
    assert report.incident_type is None
    assert report.priority == "normal"
    assert report.forms == []
    assert report.victim_age is None
    assert report.estimated_location is None


def test_repeated_elements_are_all_kept_and_unknown_ones_preserved():
    body = """
      <incidentSummary>
        <incidentType>Online Enticement of Children for Sexual Acts</incidentType>
        <escalateToHighPriority>true</escalateToHighPriority>
        <incidentDateTime>not a date</incidentDateTime>
      </incidentSummary>
      <personOrUserReported>
        <screenName>first</screenName><screenName>second</screenName>
        <ipCaptureEvent><ipAddress>192.0.2.1</ipAddress></ipCaptureEvent>
        <ipCaptureEvent><ipAddress>2001:db8::1</ipAddress><dateTime>2026-01-02T03:04:05</dateTime></ipCaptureEvent>
        <ipCaptureEvent><eventName>no address</eventName></ipCaptureEvent>
      </personOrUserReported>
      <personOrUserReported><email>other@example.test</email>
        <estimatedLocation><countryCode>ZA</countryCode></estimatedLocation></personOrUserReported>
      <victim><age>16</age></victim><victim><age>twelve</age><age>12</age></victim>
      <fileDetails><fileId>a</fileId>
        <originalFileHash hashType="SHA-256">%s</originalFileHash>
        <originalFileHash hashType="MD5">not-hex</originalFileHash>
        <originalFileHash hashType="CRC32">abcd</originalFileHash>
      </fileDetails>
      <fileDetails><fileId>b</fileId></fileDetails>
      <additionalInfo>one</additionalInfo><additionalInfo>two</additionalInfo>
      <futureElement><nested>kept</nested></futureElement>
    """ % ("AB" * 32)
    report = parse_report_xml(minimal(body))
    assert report.escalate is True
    assert report.priority == "immediate"
    assert report.forms == ["grooming"]
    assert report.incident_date is None
    assert report.incident_date_raw == "not a date"
    assert [p.screen_names for p in report.reported_persons] == [["first", "second"], []]
    assert [e.ip for e in report.ip_events] == ["192.0.2.1", "2001:db8::1"]
    assert report.ip_events[1].when == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # naive is taken as UTC
    assert report.estimated_location == cybertip.Location(country="ZA")
    assert report.victim_age == 12
    assert [f.file_id for f in report.files] == ["a", "b"]
    assert report.files[0].declared_hashes == {"sha256": "ab" * 32}
    assert report.files[0].relative_path is None
    assert report.additional_info == ["one", "two"]
    assert report.unknown == [("/nested", "kept")]


@pytest.mark.parametrize(
    ("incident_type", "forms"),
    [
        ("Child Sex Trafficking", ["trafficking"]),
        ("  unsolicited   OBSCENE material sent to a child ", ["unwanted_exposure"]),
        ("Something NCMEC adds next year", []),
        (None, []),
    ],
)
def test_incident_types_map_to_ocsea_forms(incident_type, forms):
    assert cybertip.map_incident_type(incident_type) == forms


def test_every_mapped_form_is_an_ocsea_form_code():
    # The codes of amparo.cases.taxonomy.Form (this module may not import Django).
    known = {
        "csam_production",
        "csam_possession",
        "csam_distribution",
        "live_streaming",
        "grooming",
        "sextortion",
        "nonconsensual_sharing",
        "offer_for_images",
        "unwanted_exposure",
        "harassment",
        "trafficking",
        "other",
    }
    mapped = {code for codes in cybertip.INCIDENT_TYPE_FORMS.values() for code in codes}
    mapped |= {code for codes in cybertip.ANNOTATION_FORMS.values() for code in codes}
    assert mapped <= known


# --------------------------------------------------------------------------- hostile XML

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE report [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<report><reportId>1</reportId><additionalInfo>&lol9;</additionalInfo></report>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE report [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<report><reportId>1</reportId><additionalInfo>&xxe;</additionalInfo></report>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE report SYSTEM "http://127.0.0.1:9/evil.dtd">
<report><reportId>1</reportId></report>"""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (BILLION_LAUGHS, "DTD"),
        (EXTERNAL_ENTITY, "DTD"),
        (EXTERNAL_DTD, "DTD"),
    ],
)
def test_entity_expansion_and_external_references_are_refused_with_a_clear_message(data, message):
    with pytest.raises(CyberTipError, match=message) as caught:
        parse_report_xml(data)
    assert "refused for safety" in str(caught.value)


def test_entities_are_refused_even_through_the_lower_level_parser(monkeypatch):
    # Were DTDs allowed, the entity declaration itself must still be refused.
    import defusedxml.ElementTree as DET

    original = DET.iterparse
    monkeypatch.setattr(
        cybertip.DET,
        "iterparse",
        lambda source, events, forbid_dtd, forbid_entities, forbid_external: original(
            source, events, forbid_dtd=False, forbid_entities=forbid_entities, forbid_external=forbid_external
        ),
    )
    with pytest.raises(CyberTipError, match="declares entities"):
        parse_report_xml(BILLION_LAUGHS)


def test_a_100_mb_element_is_refused_by_size_before_parsing(tmp_path):
    path = tmp_path / "huge.xml"
    chunk = b"A" * (1 << 20)
    with open(path, "wb") as handle:
        handle.write(b"<report><reportId>1</reportId><additionalInfo>")
        for _ in range(100):
            handle.write(chunk)
        handle.write(b"</additionalInfo></report>")
    with pytest.raises(CyberTipError, match="larger than 20 MB"):
        parse_package(path)
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.move(path, folder / "report.xml")
    with pytest.raises(CyberTipError, match="larger than 20 MB"):
        parse_package(folder)


def test_a_100_mb_element_inside_a_zip_is_refused_as_a_bomb(tmp_path):
    path = tmp_path / "bomb.zip"
    chunk = b"A" * (1 << 20)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("report.xml", "w", force_zip64=True) as member,
    ):
        member.write(b"<report><reportId>1</reportId><additionalInfo>")
        for _ in range(100):
            member.write(chunk)
        member.write(b"</additionalInfo></report>")
    assert path.stat().st_size < 1_000_000
    with pytest.raises(CyberTipError, match="zip bomb"):
        parse_package(path)


def test_an_element_over_the_text_limit_is_refused():
    data = minimal("<additionalInfo>" + "x" * (cybertip.MAX_TEXT_CHARS + 1) + "</additionalInfo>")
    with pytest.raises(CyberTipError, match="more than"):
        parse_report_xml(data)


def test_oversized_bytes_are_refused_without_parsing():
    with pytest.raises(CyberTipError, match="larger than 20 MB"):
        parse_report_xml(b" " * (cybertip.MAX_XML_BYTES + 1))


def test_deep_nesting_is_refused():
    depth = 10_000
    data = b"<report><reportId>1</reportId>" + b"<a>" * depth + b"</a>" * depth + b"</report>"
    with pytest.raises(CyberTipError, match="deeper than"):
        parse_report_xml(data)


def test_too_many_elements_are_refused(monkeypatch):
    monkeypatch.setattr(cybertip, "MAX_ELEMENTS", 50)
    with pytest.raises(CyberTipError, match="more than 50 elements"):
        parse_report_xml(minimal("<additionalInfo>x</additionalInfo>" * 60))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<report><reportId>1</reportId>", "not well-formed"),
        (b"", "not well-formed"),
        (b"<notareport/>", "root element"),
        (b"<report><incidentSummary/></report>", "no reportId"),
        (b"<report><reportId>../../x</reportId></report>", "not a plain identifier"),
    ],
)
def test_malformed_or_unsafe_reports_are_refused(data, message):
    with pytest.raises(CyberTipError, match=message):
        parse_report_xml(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600) | st.text(max_size=300).map(str.encode))
def test_any_bytes_give_a_report_or_a_cybertip_error(data):
    try:
        report = parse_report_xml(data)
    except CyberTipError:
        return
    assert report.report_id


xml_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30).map(
    lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
)
leaf_names = st.sampled_from(
    [
        "reportId",
        "incidentType",
        "escalateToHighPriority",
        "incidentDateTime",
        "email",
        "screenName",
        "phone",
        "ipAddress",
        "dateTime",
        "age",
        "locationOfFile",
        "originalFileHash",
        "countryCode",
        "x",
    ]
)
block_names = st.sampled_from(
    [
        "incidentSummary",
        "reportAnnotations",
        "personOrUserReported",
        "ipCaptureEvent",
        "estimatedLocation",
        "victim",
        "fileDetails",
        "other",
    ]
)
elements = st.recursive(
    st.tuples(leaf_names, xml_text).map(lambda pair: f"<{pair[0]}>{pair[1]}</{pair[0]}>"),
    lambda children: st.tuples(block_names, st.lists(children, max_size=4)).map(
        lambda pair: f"<{pair[0]}>{''.join(pair[1])}</{pair[0]}>"
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(elements, max_size=6), st.booleans())
def test_well_formed_reports_of_any_shape_never_crash_the_reader(children, with_id):
    body = "".join(children)
    data = f"<report {NS}>{'<reportId>7</reportId>' if with_id else ''}{body}</report>".encode()
    try:
        report = parse_report_xml(data)
    except CyberTipError:
        return
    assert report.report_id
    assert report.priority in {"immediate", "high", "normal"}
    assert isinstance(report.forms, list)


# --------------------------------------------------------------------------- hostile packages


def test_a_malformed_zip_is_refused(tmp_path):
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(CyberTipError, match="zip file cannot be opened"):
        parse_package(path)


def test_a_truncated_zip_is_refused(tmp_path):
    good = zip_folder(EXAMPLE, tmp_path / "good.zip").read_bytes()
    path = tmp_path / "cut.zip"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(CyberTipError, match="zip file cannot be opened"):
        parse_package(path)


def test_a_corrupt_member_is_refused_when_read(tmp_path):
    path = zip_folder(EXAMPLE, tmp_path / "pkg.zip")
    data = bytearray(path.read_bytes())
    offset = data.find(b"Media/image_0001.jpg") + len("Media/image_0001.jpg") + 40
    data[offset : offset + 64] = bytes(64)
    path.write_bytes(bytes(data))
    with parse_package(path) as package, pytest.raises(CyberTipError, match="corrupt"):
        package.verify(package.report.files[0])


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt"])
def test_zip_members_that_leave_the_package_are_refused(tmp_path, name):
    path = tmp_path / "slip.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("report.xml", minimal())
        archive.writestr(name, b"x")
    with pytest.raises(CyberTipError, match="leaves the package|absolute"):
        parse_package(path)


def test_a_member_over_the_size_limit_is_refused(tmp_path):
    path = zip_folder(EXAMPLE, tmp_path / "pkg.zip")
    with pytest.raises(CyberTipError, match="larger than the allowed 100 bytes"):
        parse_package(path, max_member_bytes=100)


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ([], "no report XML"),
        (["a.xml", "b.xml"], "2 XML files"),
        (["Media/only-media.xml"], "no report XML"),
    ],
)
def test_a_package_needs_exactly_one_report_xml(tmp_path, names, message):
    folder = tmp_path / "pkg"
    (folder / "Media").mkdir(parents=True)
    (folder / "Media" / "x.bin").write_bytes(b"x")
    for name in names:
        (folder / name).write_bytes(minimal())
    with pytest.raises(CyberTipError, match=message):
        parse_package(folder)


def test_symbolic_links_in_a_folder_are_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the package")
    folder = tmp_path / "pkg"
    (folder / "Media").mkdir(parents=True)
    (folder / "report.xml").write_bytes(
        minimal("<fileDetails><locationOfFile>Media/link.jpg</locationOfFile></fileDetails>")
    )
    (folder / "Media" / "link.jpg").symlink_to(secret)
    with parse_package(folder) as package:
        assert [present for _, present in package.files()] == [False]
        with pytest.raises(CyberTipError):
            package.open("Media/link.jpg")


def test_neither_folder_nor_known_file_is_refused(tmp_path):
    with pytest.raises(CyberTipError, match="neither a folder nor a file"):
        parse_package(tmp_path / "missing")
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(CyberTipError, match="neither a zip nor an XML"):
        parse_package(other)


def test_error_messages_never_quote_the_report_content():
    secret = "fake.user@example.test"
    data = minimal(f"<personOrUserReported><email>{secret}</email></personOrUserReported>")[:-5]
    with pytest.raises(CyberTipError) as caught:
        parse_report_xml(data)
    assert secret not in str(caught.value)


@pytest.mark.parametrize(
    "location",
    ["../../etc/passwd", "/etc/passwd", "C:\\x", "https://cdn.example.test/a/../b.jpg", "/var/www/f.jpg"],
)
def test_a_location_of_file_that_is_a_url_or_leaves_the_package_is_data_not_a_refusal(location):
    report = parse_report_xml(
        minimal(f"<fileDetails><locationOfFile>{location}</locationOfFile></fileDetails>")
    )
    [reported] = report.files
    assert reported.location == location
    cybertip.match_files(report.files, {"Media/passwd": 1, "etc/passwd": 1})
    assert reported.relative_path is None  # matched by fileName or fileId only, never outside Media/


def test_declared_files_are_matched_by_file_name_then_file_id_once_each():
    files = [
        cybertip.ReportedFile(file_id="f-1", file_name="Upload.JPG"),
        cybertip.ReportedFile(file_id="f-2"),
        cybertip.ReportedFile(file_id="f-3", file_name="upload.jpg"),
    ]
    cybertip.match_files(files, {"Media/upload.jpg": 1, "Media/sub/f-2.mp4": 2, "report.xml": 3})
    assert [f.relative_path for f in files] == ["Media/upload.jpg", "Media/sub/f-2.mp4", None]
