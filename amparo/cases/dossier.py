"""The case dossier (PDF) for the prosecutor: the case's facts, people, status history, referrals, justice
events, interviews, service referrals, notes and (from apps above cases) evidence as hashes only.

Every page carries "CONFIDENTIAL" and a watermark naming the exporting user and the time (Maputo). The export
is audited (JusticeAudit.DOSSIER_EXPORT, naming the sections included). Only users who may read the case's
identity export (JusticePermission.EXPORT_DOSSIER); the dossier holds only the sections they may see
(amparo.cases.visibility): an agency holding the case through a referral gets the non-identifying facts
plus the sections shared with it, and a person's name, phone and address only when that person's identity
section was shared.

Apps above cases add sections (evidence: items by hash) with `register_dossier_section`; a section source
gets (user, case, sections) and returns a DossierSection or None (and must leave out what `sections` hides).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from amparo.cases.justice import event_summary
from amparo.cases.letters import AmparoPDF
from amparo.cases.models import Case, PersonRole, ShareableField
from amparo.cases.permissions import JusticeAudit, JusticePermission
from amparo.cases.taxonomy import RiskFlag
from amparo.cases.visibility import visible_sections
from amparo.core import audit
from amparo.core.policy import can

MAPUTO = zoneinfo.ZoneInfo("Africa/Maputo")

IDENTITY_SECTION = {
    PersonRole.VICTIM: ShareableField.VICTIM_IDENTITY,
    PersonRole.CAREGIVER: ShareableField.CAREGIVER_IDENTITY,
    PersonRole.OFFENDER: ShareableField.OFFENDER_IDENTITY,
    PersonRole.REPORTER: ShareableField.REPORTER_IDENTITY,
}


@dataclass(frozen=True)
class DossierSection:
    key: str  # named in the audit entry, e.g. "evidence"
    title: str  # already translated
    lines: list[str] = field(default_factory=list)
    monospace: bool = False


SectionSource = Callable[[Any, Case, frozenset[str]], DossierSection | None]
_sources: list[SectionSource] = []


def register_dossier_section(source: SectionSource) -> None:
    if source not in _sources:
        _sources.append(source)


def _when(at: dt.datetime | None) -> str:
    return formats.date_format(timezone.localtime(at), "SHORT_DATETIME_FORMAT") if at else "–"


def _day(day: dt.date | None) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT") if day else "–"


def _name(user: Any) -> str:
    return user.get_username() if user is not None else _("System")


class _Dossier(AmparoPDF):
    def __init__(self, mark: str) -> None:
        super().__init__()
        self.mark = mark

    def header(self) -> None:
        self.font(9, "B")
        self.set_text_color(160, 20, 20)
        self.cell(0, 5, self.safe(_("CONFIDENTIAL")), align="C", new_x="LMARGIN", new_y="NEXT")
        self.font(7)
        self.set_text_color(90, 102, 112)
        self.cell(0, 4, self.safe(self.mark), align="C", new_x="LMARGIN", new_y="NEXT")
        # The watermark across the page: who exported it, and when.
        self.set_text_color(215, 215, 215)
        self.font(16, "B")
        with self.rotation(35, self.w / 2, self.h / 2):
            width = self.get_string_width(self.safe(self.mark))
            self.text(self.w / 2 - width / 2, self.h / 2, self.safe(self.mark))
        self.set_text_color(0, 0, 0)
        self.ln(3)

    def footer(self) -> None:
        self.set_y(-14)
        self.font(7)
        self.set_text_color(90, 102, 112)
        self.cell(
            0,
            5,
            self.safe(
                _("Amparo case dossier, page %(page)s of %(pages)s")
                % {"page": self.page_no(), "pages": "{nb}"}
            ),
            align="C",
        )
        self.set_text_color(0, 0, 0)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.para(text, 12, "B", height=7)

    def facts(self, rows: list[tuple[str, str]]) -> None:
        for label, value in rows:
            self.font(9, "B")
            self.cell(45, 5, self.safe(label))
            self.font(9)
            self.multi_cell(0, 5, self.safe(value or "–"), new_x="LMARGIN", new_y="NEXT")

    def lines(self, lines: list[str], monospace: bool = False) -> None:
        for line in lines:
            if monospace:
                self.set_font(self.mono, "", 8)
                self.multi_cell(0, 4.5, self.exact(line), new_x="LMARGIN", new_y="NEXT")
            else:
                self.para(line, 9)

    def empty(self, text: str) -> None:
        self.set_text_color(90, 102, 112)
        self.para(text, 9)
        self.set_text_color(0, 0, 0)


def _label(choices: Any, code: str) -> str:
    return str(choices(code).label) if code in choices.values else code


def build_dossier(user: Any, case: Case, now: dt.datetime | None = None) -> tuple[bytes, list[str]]:
    """(PDF bytes, names of the sections included). No access check and no audit: see `export_dossier`."""
    now = now or timezone.now()
    sections = visible_sections(user, case)
    local = timezone.localtime(now, MAPUTO)
    mark = _("Exported by %(user)s on %(time)s (Maputo time)") % {
        "user": user.get_username(),
        "time": local.strftime("%Y-%m-%d %H:%M"),
    }
    pdf = _Dossier(mark)
    pdf.set_title(pdf.safe(_("Case dossier %(reference)s") % {"reference": case.reference}))
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.para(_("Case dossier %(reference)s") % {"reference": case.reference}, 15, "B", height=8)
    included = ["facts", "persons", "transitions", "referrals"]
    for write in _SECTION_WRITERS:
        included.extend(write(pdf, user, case, sections))
    included.extend(_registered_sections(pdf, user, case, sections))
    return bytes(pdf.output()), included


# Each writer adds one part of the dossier, in order, and returns the names of the sections it included
# beyond the four every dossier has (facts, persons, transitions, referrals).
SectionWriter = Callable[["_Dossier", Any, Case, Any], list[str]]  # (pdf, user, case, visible sections)


def _the_case(pdf: _Dossier, user: Any, case: Case, sections: Any) -> list[str]:
    pdf.heading(_("The case"))
    pdf.facts(
        [
            (_("Reference"), case.reference),
            (
                _("Status"),
                case.get_status_display() + (f" ({case.get_outcome_display()})" if case.outcome else ""),
            ),
            (_("Priority"), case.get_priority_display()),
            (_("Channel"), case.get_channel_display()),
            (_("Received"), _when(case.received_at)),
            (_("Owning agency"), case.owning_agency.name),
            (_("Forms of abuse"), "; ".join(f.get_form_display() for f in case.forms.all())),
            (_("Platforms"), "; ".join(p.get_platform_display() for p in case.platforms.all())),
            (_("Mode"), case.get_mode_display()),
            (_("Province"), case.province.name if case.province else ""),
            (_("District"), case.district.name if case.district else ""),
            (_("Incident date"), _day(case.incident_date)),
            (_("Risk flags"), "; ".join(_label(RiskFlag, f) for f in case.risk_flags or [])),
        ]
    )
    if case.merged_into_id:
        pdf.para(
            _("This case was merged into case %(reference)s as a duplicate.")
            % {"reference": case.merged_into.reference},
            9,
            "B",
        )
    if ShareableField.NARRATIVE not in sections:
        return []
    pdf.heading(_("What happened"))
    if case.narrative:
        pdf.para(case.narrative, 9)
    else:
        pdf.empty(_("No narrative recorded."))
    return ["narrative"]


def _people(pdf: _Dossier, user: Any, case: Case, sections: Any) -> list[str]:
    pdf.heading(_("People"))
    persons = list(case.persons.all())
    shown_identity = False
    for person in persons:
        bits = [person.get_role_display(), person.get_age_band_display(), person.get_sex_display()]
        if person.age is not None:
            bits.append(_("age %(age)s") % {"age": person.age})
        if person.relationship:
            bits.append(person.get_relationship_display())
        pdf.para(" · ".join(str(b) for b in bits), 9, "B")
        if IDENTITY_SECTION.get(person.role) not in sections:
            pdf.empty(_("Identity not shared with your agency."))
            continue
        identity = [(_("Name"), person.name), (_("Phone"), person.phone), (_("Address"), person.address)]
        identity = [(label, value) for label, value in identity if value]
        if identity:
            shown_identity = True
            pdf.facts(identity)
    if not persons:
        pdf.empty(_("No person recorded."))
    return ["persons.identity"] if shown_identity else []


def _status_history(pdf: _Dossier, user: Any, case: Case, sections: Any) -> list[str]:
    notes_shared = ShareableField.NOTES in sections
    pdf.heading(_("Status history"))
    transitions = list(case.transitions.select_related("actor"))
    for t in transitions:
        line = _("%(when)s: %(from)s → %(to)s, by %(actor)s") % {
            "when": _when(t.at),
            "from": t.get_from_status_display(),
            "to": t.get_to_status_display(),
            "actor": _name(t.actor),
        }
        if t.outcome:
            line += f" ({t.get_outcome_display()})"
        if notes_shared and t.reason:
            line += ". " + _("Reason: %(reason)s") % {"reason": t.reason}
        pdf.para(line, 9)
    if not transitions:
        pdf.empty(_("The status has not changed since the case was received."))
    return []


def _referrals(pdf: _Dossier, user: Any, case: Case, sections: Any) -> list[str]:
    notes_shared = ShareableField.NOTES in sections
    pdf.heading(_("Referrals between agencies"))
    referrals = case.referrals.select_related("from_agency", "to_agency")
    if case.owning_agency_id != user.agency_id:
        referrals = referrals.filter(to_agency_id=user.agency_id)
    referrals = list(referrals)
    for r in referrals:
        line = _("%(when)s: %(from)s → %(to)s (%(status)s)") % {
            "when": _when(r.created_at),
            "from": r.from_agency.short_name,
            "to": r.to_agency.short_name,
            "status": r.get_status_display(),
        }
        if notes_shared and r.reason:
            line += ". " + _("Reason: %(reason)s") % {"reason": r.reason}
        pdf.para(line, 9)
    if not referrals:
        pdf.empty(_("No referral."))
    return []


def _justice(pdf: _Dossier, user: Any, case: Case, sections: Any) -> list[str]:
    if ShareableField.JUSTICE not in sections:
        return []
    pdf.heading(_("Justice record"))
    events = list(case.justice_events.select_related("recorded_by"))
    for event in events:
        pdf.para(f"{_when(event.occurred_at)}: {event_summary(event)}", 9, "B")
        if event.details:
            pdf.para(event.details, 9)
    if not events:
        pdf.empty(_("No justice event recorded."))
    return ["justice"]


def _interviews(pdf: _Dossier, user: Any, case: Case, sections: Any) -> list[str]:
    if ShareableField.INTERVIEWS not in sections:
        return []
    pdf.heading(_("Interviews of the child"))
    interviews = list(case.interviews.select_related("interviewer"))
    for i in interviews:
        who = i.interviewer.get_username() if i.interviewer else i.interviewer_name
        pdf.para(_("%(when)s, by %(who)s") % {"when": _when(i.occurred_at), "who": who}, 9, "B")
        facts = [
            (_("Interviewer trained"), _("yes") if i.interviewer_trained else _("no")),
            (
                _("Support person"),
                (i.support_person_role or _("yes")) if i.support_person_present else _("no"),
            ),
            (_("Recorded"), (i.recording_reference or _("yes")) if i.recorded else _("no")),
            (_("Place"), i.place),
            (_("Purpose"), i.purpose),
        ]
        pdf.facts(facts)
        if i.notes:
            pdf.para(i.notes, 9)
    if not interviews:
        pdf.empty(_("No interview recorded."))
    return ["interviews"]


def _services(pdf: _Dossier, user: Any, case: Case, sections: Any) -> list[str]:
    if ShareableField.SERVICES not in sections:
        return []
    pdf.heading(_("Service referrals"))
    services = list(case.service_referrals.select_related("service"))
    for s in services:
        line = _("%(when)s: %(service)s (%(outcome)s)") % {
            "when": _when(s.referred_at),
            "service": s.service.name,
            "outcome": s.get_outcome_display(),
        }
        pdf.para(line, 9)
    if not services:
        pdf.empty(_("No service referral."))
    return ["services"]


def _notes(pdf: _Dossier, user: Any, case: Case, sections: Any) -> list[str]:
    if ShareableField.NOTES not in sections:
        return []
    pdf.heading(_("Notes"))
    notes = list(case.notes.select_related("author"))
    for note in notes:
        pdf.para(
            _("%(when)s, by %(who)s") % {"when": _when(note.created_at), "who": _name(note.author)},
            9,
            "B",
        )
        pdf.para(note.text, 9)
    if not notes:
        pdf.empty(_("No note."))
    return ["notes"]


_SECTION_WRITERS: tuple[SectionWriter, ...] = (
    _the_case,
    _people,
    _status_history,
    _referrals,
    _justice,
    _interviews,
    _services,
    _notes,
)


def _registered_sections(pdf: _Dossier, user: Any, case: Case, sections: Any) -> list[str]:
    """The sections other apps add (`register_dossier_section`: the evidence's hashes)."""
    included = []
    for source in _sources:
        section = source(user, case, sections)
        if section is None:
            continue
        included.append(section.key)
        pdf.heading(section.title)
        if section.lines:
            pdf.lines(section.lines, section.monospace)
        else:
            pdf.empty(_("Nothing recorded."))
    return included


def export_dossier(user: Any, case: Case, now: dt.datetime | None = None) -> bytes:
    """The dossier of `case` (loaded through amparo.cases.access) for `user`; audited as an export."""
    if not can(user, JusticePermission.EXPORT_DOSSIER, case):
        raise PermissionDenied
    content, included = build_dossier(user, case, now)
    with transaction.atomic():
        audit.record(user, JusticeAudit.DOSSIER_EXPORT, case, included)
    return content
