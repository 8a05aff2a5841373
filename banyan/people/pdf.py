"""A resident's copy of their own data as PDF (fpdf2), with a CJK font so that Chinese text renders.

Latin letters and digits come from DejaVu Sans (``fonts-dejavu-core``); the ideographs from a
TrueType file with the CJK ideographs: ``BANYAN_PDF_FONT`` (a path), else the first
of ``FONT_CANDIDATES`` present — Debian's ``fonts-droid-fallback`` (``.ci/run`` installs it),
WenQuanYi or Noto CJK. Without one the copy cannot be made and the answer says so (never a PDF
with empty boxes instead of a name).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.utils.translation import gettext as _

from banyan.core.errors import InvalidInput

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # Debian's fonts-dejavu-core

# fontTools logs every glyph it keeps when fpdf2 subsets a font: that would spell out a name.
logging.getLogger("fontTools").setLevel(logging.WARNING)


def font_path() -> Path | None:
    configured = os.environ.get("BANYAN_PDF_FONT")
    candidates = [configured] if configured else FONT_CANDIDATES
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return "; ".join(_text(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items()) or "—"
    return str(value)


def render_own_data(data: dict) -> bytes:
    """The export of :func:`banyan.people.rights.export_own_data` as an A4 PDF."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    font = font_path()
    if font is None:
        raise InvalidInput(
            _("The PDF copy needs a Chinese font on the server; ask for the JSON copy, or ask staff."),
            field="format",
        )
    pdf = FPDF(format="A4")
    pdf.set_title(_("My data in Banyan"))
    pdf.set_creator("Banyan")
    options = {"collection_font_number": 0} if font.suffix == ".ttc" else {}
    pdf.add_font("cjk", "", str(font), **options)
    latin = Path(LATIN_FONT)
    if latin.is_file():  # Droid's fallback font holds the ideographs only: digits and Latin from DejaVu
        pdf.add_font("latin", "", str(latin))
        pdf.set_fallback_fonts(["cjk"])
        face = "latin"
    else:
        face = "cjk"
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font(face, size=14)
        pdf.multi_cell(width, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(face, size=10)

    def line(label: str, value) -> None:
        pdf.multi_cell(width, 6, f"{label}: {_text(value)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_font(face, size=18)
    pdf.multi_cell(width, 10, _("My data in Banyan"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(face, size=10)
    line(_("Made at"), data["generated_at"])

    registry = data["registry"]
    heading(_("Registry entry"))
    for key, label in (
        ("name", _("Name")),
        ("id_number", _("ID number")),
        ("phone", _("Phone")),
        ("registered_address", _("Registered address")),
        ("sex", _("Sex")),
        ("birth_date", _("Birth date")),
        ("relation", _("Relation to head")),
        ("residence_status", _("Residence")),
        ("tags", _("Tags")),
        ("is_living_alone", _("Lives alone")),
    ):
        line(label, registry[key])

    household = data["household"]
    heading(_("Household"))
    line(_("Code"), household["code"])
    line(_("Grid"), household["grid"])
    line(_("Building"), household["building"])
    line(_("Unit"), household["unit"])
    line(_("Members"), household["members"])
    for vehicle in household["vehicles"]:
        line(_("Vehicle"), f"{vehicle['kind']} {vehicle['plate']}")

    heading(_("Care profiles"))
    for profile in data["care_profiles"] or [{}]:
        if profile:
            line(
                profile["kind"],
                f"{profile['level']}, {_('since')} {profile['since']}; {_text(profile['details'])}",
            )
        else:
            line(_("Care profiles"), None)

    heading(_("Consents"))
    for consent in data["consents"] or [{}]:
        if consent:
            withdrawn = consent["withdrawn_at"] or "—"
            line(consent["scope"], f"{consent['given_by']}, {consent['granted_at']} → {withdrawn}")
        else:
            line(_("Consents"), None)

    heading(_("Devices of my household"))
    for device in data["devices"] or [{}]:
        if device:
            line(device["code"], f"{device['kind']}, {device['status']}")
        else:
            line(_("Devices"), None)

    heading(_("My reports"))
    for report in data["reports"] or [{}]:
        if report:
            line(report["requested_at"], f"{report['category']}, {report['status']}: {report['description']}")
        else:
            line(_("Reports"), None)

    heading(_("Correction requests"))
    for correction in data["corrections"] or [{}]:
        if correction:
            line(
                correction["field_label"],
                f"{correction['proposed_value']} — {correction['status_label']} {correction['reason']}",
            )
        else:
            line(_("Correction requests"), None)

    heading(_("Who viewed my data"))
    for view in data["who_viewed"] or [{}]:
        if view:
            line(view["at"], f"{view['who']} — {view['what']} {view['field']} — {view['purpose'] or '—'}")
        else:
            line(_("Who viewed my data"), None)
    return bytes(pdf.output())
