"""Printable posters and leaflets (A4 PDF) of approved content, made with fpdf2.

Like the bulletin (amparo.observatory.bulletin), the text is written in fpdf2's core Helvetica
through `amparo.lib.pdftext.latin1` (Portuguese needs nothing beyond latin-1), so that the PDF stays small and its text
extractable. Each poster ends with how to report and the helpline numbers.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext, override
from fpdf import FPDF

from amparo.core.emergency import emergency_numbers
from amparo.intake.conf import public_base_url
from amparo.lib.pdftext import latin1
from amparo.outreach.models import ContentStatus, Translation
from amparo.outreach.text import blocks


class NotPublished(Exception):
    """Only an approved translation becomes a poster."""


def footer_lines(report_address: str) -> list[str]:
    """How to report, in the active language (the same words as the public pages)."""
    return [
        gettext("Need help or want to report? Call %(helpline)s, Linha Fala Criança: free, any time.")
        % emergency_numbers(),
        gettext("In an emergency call the police on %(police)s.") % emergency_numbers(),
        gettext("You can also report online at %(address)s or by SMS. You do not have to give your name.")
        % {"address": report_address},
    ]


def render(tr: Translation) -> bytes:
    if tr.status != ContentStatus.APPROVED:
        raise NotPublished(str(tr.pk))
    with override(tr.language):
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_title(latin1(tr.title))
        pdf.set_creator("Amparo")
        pdf.set_auto_page_break(auto=True, margin=20)
        pdf.add_page()
        pdf.set_margins(18, 18, 18)
        pdf.set_font("Helvetica", "B", 26)
        pdf.multi_cell(0, 12, latin1(tr.title), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("Helvetica", "", 14)
        for kind, lines in blocks(tr.body):
            for text in lines:
                pdf.multi_cell(
                    0, 7.5, latin1(("- " if kind == "list" else "") + text), new_x="LMARGIN", new_y="NEXT"
                )
            pdf.ln(3)
        pdf.ln(6)
        pdf.set_draw_color(40, 40, 40)
        pdf.set_line_width(0.6)
        pdf.line(18, pdf.get_y(), 192, pdf.get_y())
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 15)
        for line in footer_lines(public_base_url() + reverse("intake:report")):
            pdf.multi_cell(0, 8, latin1(line), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 8)
        pdf.ln(4)
        pdf.multi_cell(0, 4, latin1("Amparo - " + tr.item.slug), new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())
