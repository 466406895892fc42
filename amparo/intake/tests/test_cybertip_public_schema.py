"""CyberTipline packages built to NCMEC's public Reporting API schema (issue 13, item 2).

Each package here is written from the element names the public ESP schema documents (incidentSummary/
escalateToHighPriority as free text, phone@countryCallingCode, reporter/companyTemplate, fileDetails
with fileName, locationOfFile as the original URL, fileViewedByEsp, publiclyAvailable, fileAnnotations,
details of type EXIF, originalFileHash; personOrUserReported with personOrUserReportedPerson, deviceId,
espService, priorCTReports, groupIdentifier, additionalInfo and address; victim with victimPerson and
schoolName; chatImIncident), not from Amparo's example. Everything is invented; the media are plain
generated pictures.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from PIL import Image

from amparo.cases.actions import find_persons_by_phone
from amparo.cases.models import Case
from amparo.core.tests.test_web import sign_in
from amparo.evidence.models import CustodyKind, EvidenceItem
from amparo.intake.tests import test_cybertip_import
from amparo.lib import cybertip

NS = "http://report.cybertip.org/leaws/icac"
evidence_dir = test_cybertip_import.evidence_dir  # the shared fixture


def picture(seed: int) -> bytes:
    image = Image.new("RGB", (64, 64), (seed * 40 % 256, 90, 160))
    for x in range(0, 64, 8):
        for y in range(0, 64, 8):
            image.putpixel((x, y), ((x * seed) % 256, (y * 7) % 256, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def package(
    tmp_path: Path, body: str, media: dict[str, bytes] | None = None, report_id: str = "200000001"
) -> Path:
    folder = tmp_path / f"CT-{report_id}"
    (folder / "Media").mkdir(parents=True)
    (folder / f"{report_id}.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<report xmlns="{NS}">\n'
        f"  <reportId>{report_id}</reportId>\n{body}\n</report>\n",
        encoding="utf-8",
    )
    for name, data in (media or {}).items():
        (folder / "Media" / name).write_bytes(data)
    return folder


def run_import(path: Path) -> dict:
    out = io.StringIO()
    with translation.override("en"):  # the assertions read the note's English labels
        call_command("cybertip", "import", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


SUMMARY = """
  <incidentSummary>
    <incidentType>Online Enticement of Children for Sexual Acts</incidentType>
    <escalateToHighPriority>{escalate}</escalateToHighPriority>
    <incidentDateTime>2026-10-02T08:15:00Z</incidentDateTime>
    <incidentDateTimeDescription>Messages over three evenings; the first one is the date given.</incidentDateTimeDescription>
  </incidentSummary>
"""


# --------------------------------------------------------------------------- escalation


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("escalate", "priority"),
    [("Immediate risk to child", "immediate"), ("true", "immediate"), ("false", "normal")],
)
def test_escalate_to_high_priority_is_free_text_and_escalates(evidence_dir, tmp_path, escalate, priority):
    result = run_import(package(tmp_path, SUMMARY.format(escalate=escalate)))
    case = Case.objects.get(reference=result["reference"])
    assert result["priority"] == case.priority == priority
    if escalate == "Immediate risk to child":
        assert "Immediate risk to child" in case.notes.get().text


def test_the_reader_keeps_the_escalation_reason():
    xml = f'<report xmlns="{NS}"><reportId>1</reportId>{SUMMARY.format(escalate="Child in danger now")}</report>'
    report = cybertip.parse_report_xml(xml.encode())
    assert report.escalate is True
    assert report.escalate_reason == "Child in danger now"
    assert report.priority == "immediate"
    assert report.incident_date_description.startswith("Messages over three evenings")


# --------------------------------------------------------------------------- phones and company

REPORTED = """
  <reporter>
    <reportingPerson><firstName>Safety</firstName><lastName>Desk</lastName>
      <email>ncmec-reports@example-social.test</email></reportingPerson>
    <companyTemplate>Instagram (Example Social Ltd.)
Legal process may be served at the address in our law enforcement guide.</companyTemplate>
  </reporter>
  <personOrUserReported>
    <personOrUserReportedPerson>
      <firstName>Invented</firstName><lastName>Person</lastName>
      <phone type="Mobile" verified="true" countryCallingCode="258">84 123 4567</phone>
      <email verified="true">invented.person@example.test</email>
      <address type="Home"><address>Rua Inventada 12</address><city>Quelimane</city><country>MZ</country></address>
      <dateOfBirth>1990-04-01</dateOfBirth>
    </personOrUserReportedPerson>
    <espIdentifier>77001234</espIdentifier>
    <espService>Instagram Direct</espService>
    <screenName>invented_user_77</screenName>
    <ipCaptureEvent><ipAddress>198.51.100.23</ipAddress><eventName>Login</eventName>
      <dateTime>2026-10-01T21:04:00Z</dateTime><possibleProxy>false</possibleProxy></ipCaptureEvent>
    <deviceId><idType>IMEI</idType><idValue>356938035643809</idValue><eventName>Login</eventName></deviceId>
    <priorCTReports>190000777</priorCTReports>
    <groupIdentifier>invented-group-5521</groupIdentifier>
    <additionalInfo>Account created two days before the first message.</additionalInfo>
  </personOrUserReported>
  <victim>
    <victimPerson>
      <firstName>Invented</firstName><lastName>Child</lastName>
      <dateOfBirth>2012-06-30</dateOfBirth>
      <address><city>Quelimane</city><nonUsaState>Zambezia</nonUsaState><country>MZ</country></address>
    </victimPerson>
    <screenName>invented_child_12</screenName>
    <schoolName>Escola Primária Inventada</schoolName>
  </victim>
  <internetDetails>
    <chatImIncident>
      <chatClient>Instagram Direct</chatClient>
      <chatRoomName>invented-room</chatRoomName>
      <content>Invented chat excerpt asking to move to another app.</content>
    </chatImIncident>
  </internetDetails>
"""


@pytest.mark.django_db
def test_a_phone_with_a_country_calling_code_is_stored_in_e164(evidence_dir, tmp_path):
    result = run_import(package(tmp_path, SUMMARY.format(escalate="false") + REPORTED))
    case = Case.objects.get(reference=result["reference"])
    offender = case.persons.get(role="offender")
    assert offender.phone == "+258841234567"
    assert list(find_persons_by_phone("+258841234567")) == [offender]


def test_a_calling_code_written_into_the_number_is_not_repeated():
    assert cybertip.Phone("00258 84 123 4567", "258").international == "+258841234567"
    assert cybertip.Phone("841234567", "+258").international == "+258841234567"


@pytest.mark.django_db
def test_the_company_template_names_the_reporting_company_and_platform(evidence_dir, tmp_path):
    result = run_import(package(tmp_path, SUMMARY.format(escalate="false") + REPORTED))
    case = Case.objects.get(reference=result["reference"])
    assert "instagram" in [p.platform for p in case.platforms.all()]
    assert "Reported by: Instagram (Example Social Ltd.)." in case.notes.get().text


@pytest.mark.django_db
def test_identifying_details_of_the_schema_are_kept_on_the_case(evidence_dir, tmp_path):
    result = run_import(package(tmp_path, SUMMARY.format(escalate="false") + REPORTED))
    case = Case.objects.get(reference=result["reference"])
    note = case.notes.get().text
    for kept in (
        "IMEI 356938035643809",
        "Instagram Direct",
        "190000777",
        "invented-group-5521",
        "Account created two days before the first message.",
        "Rua Inventada 12, Quelimane, MZ (Home)",
        "Messages over three evenings",
        "chatImIncident / chatRoomName: invented-room",
        "Invented chat excerpt asking to move to another app.",
        "Escola Primária Inventada",
        "2012-06-30",
        "198.51.100.23",
    ):
        assert kept in note, kept
    victim = case.persons.get(role="victim")
    assert victim.birth_year == 2012
    assert victim.address == "Quelimane, Zambezia, MZ"
    assert case.persons.get(role="offender").address == "Rua Inventada 12, Quelimane, MZ (Home)"


# --------------------------------------------------------------------------- files


def files_body(first: bytes) -> str:
    return f"""
  <fileDetails>
    <fileId>a1b2c3d4</fileId>
    <fileName>upload_8812.png</fileName>
    <originalFileName>IMG_2026_invented.png</originalFileName>
    <locationOfFile>https://cdn.example-social.test/media/../u/8812/upload_8812.png</locationOfFile>
    <fileViewedByEsp>true</fileViewedByEsp>
    <exifViewedByEsp>true</exifViewedByEsp>
    <publiclyAvailable>false</publiclyAvailable>
    <fileAnnotations><generativeAi/><viral/></fileAnnotations>
    <industryClassification>A1</industryClassification>
    <originalFileHash hashType="MD5">{md5(first).upper()}</originalFileHash>
    <ipCaptureEvent><ipAddress>203.0.113.9</ipAddress><eventName>Upload</eventName>
      <dateTime>2026-10-01T21:05:00Z</dateTime></ipCaptureEvent>
    <details type="EXIF"><nameValuePair><name>Model</name><value>Invented Phone 3</value></nameValuePair></details>
  </fileDetails>
  <fileDetails>
    <fileId>f-0002</fileId>
    <locationOfFile>/var/www/uploads/f-0002.png</locationOfFile>
    <originalFileHash hashType="MD5">{"0" * 32}</originalFileHash>
  </fileDetails>
  <fileDetails>
    <fileId>f-0003</fileId>
    <fileName>never_sent.png</fileName>
    <locationOfFile>https://cdn.example-social.test/u/never_sent.png</locationOfFile>
  </fileDetails>
"""


@pytest.mark.django_db
def test_files_are_found_by_name_then_id_and_their_declared_md5_is_checked(evidence_dir, tmp_path):
    first, second = picture(1), picture(2)
    folder = package(
        tmp_path,
        SUMMARY.format(escalate="false") + files_body(first),
        {"upload_8812.png": first, "f-0002.png": second},
    )
    result = run_import(folder)
    assert result["file_details"] == [
        {"file_name": "upload_8812.png", "file_id": "a1b2c3d4", "found": True, "md5_ok": True},
        {"file_name": "f-0002", "file_id": "f-0002", "found": True, "md5_ok": False},
        {"file_name": "never_sent.png", "file_id": "f-0003", "found": False, "md5_ok": None},
    ]
    assert result["files"] == 2
    case = Case.objects.get(reference=result["reference"])
    items = {item.original_name: item for item in EvidenceItem.objects.filter(case=case)}
    item = items["IMG_2026_invented.png"]
    assert item.md5 == md5(first)
    assert item.classification == "A1"
    details = item.sender_details
    assert details["original_url"] == "https://cdn.example-social.test/media/../u/8812/upload_8812.png"
    assert details["viewed_by_esp"] is True
    assert details["publicly_available"] is False
    assert details["annotations"] == ["generativeAi", "viral"]
    assert details["details"] == [{"type": "EXIF", "name": "Model", "value": "Invented Phone 3"}]
    assert details["ip_events"][0].startswith("IP 203.0.113.9, Upload")
    assert not item.custody.filter(kind=CustodyKind.INTEGRITY_ALARM).exists()
    # The second file's declared MD5 is wrong: kept, with the alarm on its custody chain.
    other = next(i for name, i in items.items() if name != "IMG_2026_invented.png")
    assert other.custody.filter(kind=CustodyKind.INTEGRITY_ALARM).count() == 1
    note = case.notes.get().text
    assert "1 declared file(s) were not in the package" in note
    assert "does not match the file received" in note


@pytest.mark.django_db
def test_the_sender_details_are_encrypted_at_rest(evidence_dir, tmp_path):
    from django.db import connection

    first = picture(3)
    run_import(
        package(tmp_path, SUMMARY.format(escalate="false") + files_body(first), {"upload_8812.png": first})
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT source_details FROM evidence_evidenceitem")
        [(stored,)] = cursor.fetchall()
    assert stored.startswith("enc1$")
    assert "example-social" not in stored


@pytest.mark.django_db
def test_importing_a_schema_package_twice_returns_the_same_case_and_its_file_details(evidence_dir, tmp_path):
    first = picture(4)
    folder = package(
        tmp_path,
        SUMMARY.format(escalate="Immediate risk to child") + files_body(first),
        {"upload_8812.png": first},
    )
    once = run_import(folder)
    again = run_import(folder)
    assert again["created"] is False
    assert again["reference"] == once["reference"]
    assert again["priority"] == "immediate"
    assert again["file_details"] == once["file_details"]
    assert Case.objects.count() == 1
    assert EvidenceItem.objects.count() == 1


@pytest.mark.django_db
def test_the_item_page_shows_what_the_platform_said_and_the_md5_mismatch(
    client, make_user, evidence_dir, tmp_path
):
    first, second = picture(5), picture(6)
    body = SUMMARY.format(escalate="false") + files_body(first)
    run_import(package(tmp_path, body, {"upload_8812.png": first, "f-0002.png": second}))
    sign_in(client, make_user("investigator", agency="sernic"))
    sections = {}
    for item in EvidenceItem.objects.all():
        page = client.get(f"/evidence/items/{item.pk}/").content.decode()
        start = page.index('id="sender-details"')
        sections[item.original_name] = page[start : page.index("</section>", start)]
    section = sections.pop("IMG_2026_invented.png")
    assert "A1" in section
    assert "generativeAi, viral" in section
    assert "Invented Phone 3" in section
    assert "https://cdn.example-social.test/media/../u/8812/upload_8812.png" in section
    assert "<strong>" not in section  # no declared-hash alarm
    [other] = sections.values()
    assert "<strong>" in other
    assert "MD5" in other.split("<strong>", 1)[1]
