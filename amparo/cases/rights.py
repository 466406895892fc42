"""The victim rights information package: what a child and a caregiver are told about their rights, what
happens next in their case, and whom to contact.

`build_package(case, audience, language, receipt=...)` gathers the texts (amparo.cases.rights_content, one
module per language; languages without a reviewed version fall back to Portuguese) with the case's
status, agency and nearest services. Three outputs read it: `render_pdf` (a small-page PDF readable on a
phone), `sms_text` (at most three SMS parts, folded to GSM-7) and the reporter's web page (intake). The
package carries the case reference, or the reporter's receipt when the caller passes it (the receipt is
never looked up from the case: only its hash is stored).

Sending the SMS version needs intake's outbound SMS machinery, which cases may not import: intake
registers a sender here (`register_sms_sender`) from its AppConfig.ready().

The texts REQUIRE EXPERT LEGAL REVIEW (see amparo.cases.rights_content).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from fpdf import FPDF

from amparo.cases.models import Case, DeliveryMethod, RightsAudience, Service
from amparo.cases.rights_content import content, content_language
from amparo.cases.services import nearest_services
from amparo.cases.timeline import Entry
from amparo.lib import gsm
from amparo.lib.pdftext import latin1

MAX_SMS_PARTS = 3
NEARBY_LIMIT = 3


@dataclass(frozen=True)
class Nearby:
    name: str
    phone: str = ""
    hours: str = ""
    free: bool = False

    def line(self, free_label: str) -> str:
        extras = [x for x in (self.phone, self.hours, free_label if self.free else "") if x]
        return f"{self.name} ({'; '.join(extras)})" if extras else self.name


@dataclass(frozen=True)
class RightsPackage:
    audience: str
    language: str  # the language the texts are in (after fall-back)
    status: str
    reference: str
    agency: str  # the short name of the agency holding the case
    title: str
    intro: str
    rights_heading: str
    rights: tuple[tuple[str, str], ...]
    next_heading: str
    next_text: str
    contacts_heading: str
    contacts: tuple[str, ...]
    nearby_heading: str
    nearby: tuple[Nearby, ...]
    free_label: str
    reference_line: str
    reference_note: str
    footer: str
    sms_template: str
    sms_status: str
    sms_nearby: str


def build_package(
    case: Case,
    audience: str,
    language: str | None,
    *,
    receipt: str | None = None,
    services: Iterable[Service] | None = None,
) -> RightsPackage:
    """The package for `case` in `language` (falls back to Portuguese) for the child or the caregiver.
    `receipt` (as the reporter typed or should read it) replaces the case reference; `services` replaces
    the nearest services of the case's district."""
    if audience not in RightsAudience.values:
        raise ValueError(f"unknown audience {audience!r}")
    text = content(language)
    status = case.status
    if services is None:
        services = nearest_services(case.district, limit=NEARBY_LIMIT, province=case.province_id)
    agency = case.owning_agency
    reference = receipt if receipt else case.reference
    kind = "receipt" if receipt else "case"
    return RightsPackage(
        audience=audience,
        language=content_language(language),
        status=status,
        reference=reference,
        agency=agency.short_name,
        title=text["title"][audience],
        intro=text["intro"][audience],
        rights_heading=text["rights_heading"][audience],
        rights=tuple(tuple(r) for r in text["rights"][audience]),
        next_heading=text["next_heading"][audience],
        next_text=text["next"][audience][status],
        contacts_heading=text["contacts_heading"][audience],
        contacts=(
            text["contact_helpline"][audience],
            text["contact_police"][audience],
            text["contact_agency"][audience] % {"agency": f"{agency.name} ({agency.short_name})"},
        ),
        nearby_heading=text["nearby_heading"][audience],
        nearby=tuple(
            Nearby(name=s.name, phone=s.phone, hours=s.hours, free=s.free_of_charge) for s in services
        ),
        free_label=text["free_label"],
        reference_line=text["reference"][kind][audience] % {"reference": reference},
        reference_note=text["reference_note"][audience],
        footer=text["footer"],
        sms_template=text["sms"][audience],
        sms_status=text["sms_status"][status],
        sms_nearby=text["sms_nearby"],
    )


# ---------------------------------------------------------------------------
# SMS


def sms_text(package: RightsPackage, max_parts: int = MAX_SMS_PARTS) -> str:
    """The SMS version: folded to the GSM-7 alphabet (accents GSM-7 lacks are dropped: 'ç' -> 'c') and at
    most `max_parts` parts (153 characters each). Nearby services with a phone are added while they fit."""
    base = gsm.fold(
        package.sms_template
        % {"status": package.sms_status, "reference": package.reference, "agency": package.agency}
    )
    if gsm.segment(base).parts > max_parts:
        return gsm.fit(base, max_parts)
    text = base
    listed: list[str] = []
    for service in package.nearby:
        if not service.phone:
            continue
        candidate_list = [*listed, f"{service.name} {service.phone}"]
        candidate = base + gsm.fold(package.sms_nearby % {"services": "; ".join(candidate_list)})
        if gsm.segment(candidate).parts > max_parts:
            break
        listed, text = candidate_list, candidate
    return text


# ---------------------------------------------------------------------------
# PDF


class _Leaflet(FPDF):
    def footer(self) -> None:
        self.set_y(-9)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"{self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0, 0, 0)


# A6 portrait (105 x 148 mm) with large type: one page fits a phone screen when zoomed to its width.
PAGE_FORMAT = (105, 148)  # A6, in mm (fpdf2 names only A3-A5)
BODY_SIZE = {RightsAudience.CHILD: 13, RightsAudience.CAREGIVER: 11}


def render_pdf(package: RightsPackage) -> bytes:
    """The package as a small-page PDF with real (extractable) text. The document title is neutral."""
    body = BODY_SIZE.get(package.audience, 11)
    line = body * 0.45
    pdf = _Leaflet(format=PAGE_FORMAT)
    pdf.set_title("Amparo")
    pdf.set_creator("Amparo")
    pdf.set_margins(7, 8, 7)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.alias_nb_pages()
    pdf.add_page()

    def heading(text: str, size: float) -> None:
        pdf.set_font("Helvetica", "B", size)
        pdf.multi_cell(0, size * 0.5, latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def paragraph(text: str, style: str = "") -> None:
        pdf.set_font("Helvetica", style, body)
        pdf.multi_cell(0, line, latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)

    heading(package.title, body + 5)
    paragraph(package.reference_line, "B")
    paragraph(package.intro)
    heading(package.rights_heading, body + 2)
    for title, text in package.rights:
        heading(title, body)
        paragraph(text)
    heading(package.next_heading, body + 2)
    paragraph(package.next_text)
    heading(package.contacts_heading, body + 2)
    for contact in package.contacts:
        paragraph(contact)
    if package.nearby:
        heading(package.nearby_heading, body + 1)
        for service in package.nearby:
            paragraph(service.line(package.free_label))
    paragraph(package.reference_note)
    pdf.set_font("Helvetica", "I", max(body - 3, 8))
    pdf.multi_cell(0, line, latin1(package.footer), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# ---------------------------------------------------------------------------
# Sending by SMS (intake registers the sender)

# sender(actor, case, text) -> True when an SMS was queued to a number the case's reporter consented to be
# contacted on, False when there is no such number or no channel to send it through.
SmsSender = Callable[[Any, Case, str], bool]
_sms_sender: list[SmsSender] = []


def register_sms_sender(sender: SmsSender) -> None:
    _sms_sender[:] = [sender]


def sms_sender() -> SmsSender | None:
    return _sms_sender[0] if _sms_sender else None


# ---------------------------------------------------------------------------
# Timeline


def language_label(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


def rights_history(user: Any, case: Case, sections: frozenset[str]) -> Iterator[Entry]:
    """Timeline source: each delivery of the rights package (how, to whom, in which language). Nothing in it
    identifies anyone, so every reader of the case sees it."""
    for delivery in case.rights_deliveries.select_related("delivered_by"):
        method = (
            DeliveryMethod(delivery.method).label
            if delivery.method in DeliveryMethod.values
            else delivery.method
        )
        yield Entry(
            at=delivery.delivered_at,
            kind="rights",
            title=_("Rights information given to %(audience)s: %(method)s, in %(language)s.")
            % {
                "audience": delivery.get_audience_display().lower(),
                "method": str(method).lower(),
                "language": language_label(delivery.language),
            },
            actor=delivery.delivered_by.get_username() if delivery.delivered_by else _("System"),
        )
