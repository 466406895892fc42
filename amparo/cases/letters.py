"""The letter (PDF, Portuguese) that goes with a preservation or disclosure request, and the PDF helpers
that the case dossier shares.

The letter is always in Portuguese, the language of the requesting authority, whatever the language of the
person printing it: its text is written here, not translated. It names the identifiers, so only roles that
may read identity download it, and each download is audited (JusticeAudit.PRESERVATION_LETTER).

Fonts: DejaVu Sans (full Unicode, so that an identifier is printed exactly) from AMPARO_PDF_FONT_DIR
(default: Debian's fonts-dejavu-core directory). Without it the PDF falls back to fpdf2's core fonts
(latin-1): other characters of identifiers are then printed as %-escapes (still exact), of prose as "?".
The text is real text (extractable, searchable).
"""

from __future__ import annotations

import datetime as dt
import os
import urllib.parse
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from fpdf import FPDF

from amparo.cases.models import PreservationKind, PreservationRequest
from amparo.cases.permissions import CasePermission, JusticeAudit
from amparo.core import audit
from amparo.core.policy import can
from amparo.core.roles import Role
from amparo.lib.env import env_str
from amparo.lib.pdftext import latin1

DEFAULT_FONT_DIR = "/usr/share/fonts/truetype/dejavu"


def font_dir() -> str:
    return env_str("AMPARO_PDF_FONT_DIR", DEFAULT_FONT_DIR)


class AmparoPDF(FPDF):
    """A4 portrait with DejaVu Sans when available (`unicode` True), else Helvetica (latin-1)."""

    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(20, 18, 20)
        self.set_creator("Amparo")
        directory = font_dir()
        regular = os.path.join(directory, "DejaVuSans.ttf")
        bold = os.path.join(directory, "DejaVuSans-Bold.ttf")
        mono = os.path.join(directory, "DejaVuSansMono.ttf")
        self.unicode = all(os.path.isfile(p) for p in (regular, bold, mono))
        if self.unicode:
            self.add_font("DejaVu", "", regular)
            self.add_font("DejaVu", "B", bold)
            self.add_font("DejaVuMono", "", mono)
        self.family = "DejaVu" if self.unicode else "Helvetica"
        self.mono = "DejaVuMono" if self.unicode else "Courier"

    def safe(self, text: Any) -> str:
        """Prose: exact with DejaVu; latin-1 with '?' for anything else without it."""
        text = str(text)
        if self.unicode:
            return text
        return latin1(text)

    def exact(self, text: Any) -> str:
        """Identifiers: never altered; without DejaVu, characters outside latin-1 become %-escapes."""
        text = str(text)
        if self.unicode:
            return text
        return "".join(ch if ord(ch) < 256 else urllib.parse.quote(ch) for ch in text)

    def font(self, size: float, style: str = "") -> None:
        self.set_font(self.family, style, size)

    def para(self, text: str, size: float = 10, style: str = "", height: float | None = None) -> None:
        self.font(size, style)
        self.multi_cell(0, height or size * 0.5, self.safe(text), new_x="LMARGIN", new_y="NEXT")


# --- The letter ----------------------------------------------------------------------------------------

_MONTHS = (
    "janeiro",
    "fevereiro",
    "março",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
)
_ROLE_TITLES = {
    Role.PROSECUTOR: "Magistrado(a) do Ministério Público",
    Role.INVESTIGATOR: "Investigador(a)",
    Role.COURT_OFFICER: "Oficial de justiça",
}


def data_por_extenso(day: dt.date) -> str:
    """'3 de março de 2026'."""
    return f"{day.day} de {_MONTHS[day.month - 1]} de {day.year}"


def data_curta(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _signatory(user: Any) -> tuple[str, str]:
    if user is None:
        return "", ""
    name = (user.get_full_name() or "").strip() or user.get_username()
    title = next((t for role, t in _ROLE_TITLES.items() if user.has_role(role)), "")
    return name, title


def render_preservation_letter(request: PreservationRequest, today: dt.date | None = None) -> bytes:
    """The letter's PDF bytes (no access check, no audit: see `preservation_letter`)."""
    today = today or timezone.localdate()
    case = request.case
    requester = request.created_by
    agency = requester.agency if requester is not None and requester.agency_id else case.owning_agency
    preserve = request.kind == PreservationKind.PRESERVATION
    subject = (
        "Pedido de preservação urgente de dados informáticos"
        if preserve
        else "Pedido de divulgação de dados informáticos"
    )
    pdf = _letter_pdf(request, subject)
    _letterhead(pdf, request, agency, today)
    _addressee(pdf, request.provider)
    _request_body(pdf, request, agency, subject, preserve)
    _signature(pdf, requester, agency)
    return bytes(pdf.output())


def _letter_pdf(request: PreservationRequest, subject: str) -> AmparoPDF:
    """A new letter with its first page: every page is marked confidential and numbered in the footer."""
    pdf = AmparoPDF()
    pdf.set_title(pdf.safe(f"{subject} - {request.number}"))
    pdf.alias_nb_pages()

    def footer() -> None:
        pdf.set_y(-14)
        pdf.font(7)
        pdf.set_text_color(90, 102, 112)
        pdf.cell(
            0,
            5,
            pdf.safe(f"CONFIDENCIAL - Ofício n.º {request.number} - página {pdf.page_no()}/{{nb}}"),
            align="C",
        )
        pdf.set_text_color(0, 0, 0)

    pdf.footer = footer  # type: ignore[method-assign]
    pdf.add_page()
    return pdf


def _letterhead(pdf: AmparoPDF, request: PreservationRequest, agency: Any, today: dt.date) -> None:
    pdf.font(8, "B")
    pdf.cell(0, 5, "CONFIDENCIAL", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.para("República de Moçambique", 10, "B")
    pdf.para(agency.name, 11, "B")
    pdf.ln(4)
    pdf.para(f"Ofício n.º {request.number}", 10, "B")
    pdf.para(f"Referência do processo no Amparo: {request.case.reference}", 9)
    pdf.para(f"Data: {data_por_extenso(today)}", 9)
    pdf.ln(4)


def _addressee(pdf: AmparoPDF, provider: Any) -> None:
    pdf.para("Destinatário:", 9, "B")
    pdf.para(provider.legal_name or provider.name, 10)
    if provider.legal_name and provider.legal_name != provider.name:
        pdf.para(f"({provider.name})", 9)
    if provider.address.strip():
        pdf.para(provider.address.strip(), 9)
    else:
        pdf.para("Endereço para pedidos legais: a confirmar antes do envio.", 9)
    if provider.email:
        pdf.para(f"Correio electrónico: {provider.email}", 9)
    if provider.portal:
        pdf.para(f"Portal para autoridades: {provider.portal}", 9)
    pdf.ln(4)


def _request_body(
    pdf: AmparoPDF, request: PreservationRequest, agency: Any, subject: str, preserve: bool
) -> None:
    """What is asked, on what legal basis, for which identifiers and period, and by when."""
    pdf.para(f"Assunto: {subject}", 10, "B")
    pdf.ln(2)
    pdf.para("Exmos. Senhores,", 10)
    pdf.ln(1)
    period = f"de {data_curta(request.date_from)} a {data_curta(request.date_to)}"
    if preserve:
        body = (
            f"{agency.name}, no âmbito de uma investigação criminal relativa a crimes contra menores, "
            f"solicita a V. Exas. a preservação imediata e integral de todos os dados associados aos "
            f"identificadores abaixo indicados (dados de assinante, de tráfego, de localização e de "
            f"conteúdo), relativos ao período {period}, até que a autoridade competente ordene a sua divulgação."
        )
    else:
        body = (
            f"{agency.name}, no âmbito de uma investigação criminal relativa a crimes contra menores, "
            f"solicita a V. Exas. a divulgação dos dados associados aos identificadores abaixo indicados "
            f"(dados de assinante e de tráfego), relativos ao período {period}."
        )
    pdf.para(body, 10)
    pdf.ln(2)
    pdf.para("Base legal:", 10, "B")
    pdf.para(request.legal_basis, 10)
    pdf.ln(2)
    pdf.para("Identificadores:", 10, "B")
    for number, identifier in enumerate(request.identifiers.splitlines(), start=1):
        pdf.font(10)
        pdf.cell(8, 5, f"{number}.")
        pdf.set_font(pdf.mono, "", 9)
        pdf.multi_cell(0, 5, pdf.exact(identifier), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.para(f"Período: {period}.", 10)
    if request.deadline:
        pdf.para(f"Prazo de resposta: até {data_por_extenso(request.deadline)}.", 10, "B")
    else:
        pdf.para(
            f"Prazo de resposta: {request.provider.response_days} dias a contar da data de envio deste ofício.",
            10,
            "B",
        )
    pdf.ln(2)
    pdf.para(
        "Solicita-se que não seja dado conhecimento deste pedido ao titular dos dados nem a terceiros, "
        "para não prejudicar a investigação e a protecção da criança.",
        10,
    )
    pdf.para(f"Na resposta, queiram indicar a referência {request.number}.", 10)
    pdf.ln(4)


def _signature(pdf: AmparoPDF, requester: Any, agency: Any) -> None:
    pdf.para("Com os melhores cumprimentos,", 10)
    pdf.ln(10)
    name, title = _signatory(requester)
    if name:
        pdf.para(name, 10, "B")
    if title:
        pdf.para(title, 9)
    pdf.para(agency.name, 9)


def preservation_letter(user: Any, request: PreservationRequest) -> bytes:
    """The letter for a user who may read the case's identity (identifiers are in it); audited."""
    if not can(user, CasePermission.READ_IDENTITY, request.case):
        raise PermissionDenied
    content = render_preservation_letter(request)
    audit.record_read(user, JusticeAudit.PRESERVATION_LETTER, request, ["identifiers", "legal_basis"])
    return content
