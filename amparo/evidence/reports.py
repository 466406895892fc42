"""Chain-of-custody report (PDF, for court) of one evidence item.

fpdf2's core fonts are latin-1: Portuguese accents are fine; anything else is replaced before writing.
The text is real text (extractable, searchable), not an image.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF

from amparo.core import audit
from amparo.evidence.models import EvidenceItem
from amparo.evidence.permissions import EvidenceAudit, EvidencePermission
from amparo.lib.pdftext import latin1


def _when(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def custody_pdf(user: Any, item: EvidenceItem) -> bytes:
    """The report for `item` (already loaded through amparo.evidence.access). Audited."""
    from amparo.evidence.actions import _require

    _require(user, EvidencePermission.READ, item)
    events = list(item.custody.select_related("counterpart").order_by("id"))
    matches = list(item.matches.select_related("hash_list").order_by("distance", "id"))
    audit.record_read(user, EvidenceAudit.CUSTODY_REPORT, item)

    pdf = FPDF(format="A4")
    pdf.set_title(latin1(_("Chain of custody")))
    pdf.set_creator("Amparo")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, latin1(_("Chain of custody of an evidence item")), new_x="LMARGIN", new_y="NEXT")
    _facts(pdf, item)
    _known_material(pdf, matches)
    _events(pdf, events)
    return bytes(pdf.output())


def _facts(pdf: FPDF, item: EvidenceItem) -> None:
    pdf.set_font("Helvetica", "", 9)
    facts = [
        (_("Item"), str(item.pk)),
        (_("Case"), item.case.reference),
        (_("Received by"), item.received_by_agency.short_name),
        (_("Received"), _when(item.received_at)),
        (_("Size in bytes"), str(item.size)),
        ("SHA-256", item.sha256),
        ("SHA-1", item.sha1 or "-"),
        ("MD5", item.md5 or "-"),
        (
            "PDQ",
            f"{item.pdq} ({_('quality %(quality)s') % {'quality': item.pdq_quality}})" if item.pdq else "-",
        ),
        (_("Legal hold"), _("yes") if item.legal_hold else _("no")),
        (_("Destroyed"), _when(item.destroyed_at) if item.destroyed_at else _("no")),
        (_("Report made"), _when(timezone.now())),
    ]
    for label, value in facts:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(35, 5, latin1(label))
        pdf.set_font("Courier" if len(value) >= 32 else "Helvetica", "", 8 if len(value) >= 32 else 9)
        pdf.cell(0, 5, latin1(value), new_x="LMARGIN", new_y="NEXT")


def _known_material(pdf: FPDF, matches: list[Any]) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, latin1(_("Known material")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    if not matches:
        pdf.cell(0, 5, latin1(_("No hash list knows this item.")), new_x="LMARGIN", new_y="NEXT")
    for match in matches:
        line = _("%(list)s: %(type)s at distance %(distance)s, category %(category)s") % {
            "list": match.hash_list.name,
            "type": match.hash_type,
            "distance": match.distance,
            "category": match.category or "-",
        }
        pdf.cell(0, 5, latin1(line), new_x="LMARGIN", new_y="NEXT")


def _events(pdf: FPDF, events: list[Any]) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, latin1(_("Events")), new_x="LMARGIN", new_y="NEXT")
    for number, event in enumerate(events, start=1):
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(
            0,
            5,
            latin1(f"{number}. {_when(event.at)}  {event.get_kind_display()}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font("Helvetica", "", 9)
        lines = [_("By: %(actor)s") % {"actor": event.actor_label or "-"}]
        if event.purpose:
            lines.append(_("Purpose: %(purpose)s") % {"purpose": event.purpose})
        if event.counterpart_id:
            lines.append(_("Agency: %(agency)s") % {"agency": event.counterpart.short_name})
        if event.detail:
            lines.append(
                _("Details: %(details)s")
                % {"details": "; ".join(f"{k}={v}" for k, v in sorted(event.detail.items()))}
            )
        for text in lines:
            pdf.multi_cell(0, 5, latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Courier", "", 8)
        pdf.cell(0, 5, latin1(f"SHA-256: {event.sha256 or '-'}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
