"""The response's metrics page (``/response/metrics/``) and its XLSX export: SLA performance by grade
and by responsible body, residents' satisfaction and the trend per day or week, over the caller's
scope and a period of whole days.

Every number is shown twice: in an ECharts chart (drawn by ``response/metrics.js`` from the data in a
``json_script``) and in a table a screen reader reads; the export holds the same tables, one a sheet,
headed in the page's language. The figures are :func:`banyan.response.metrics.figures`.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from banyan.core import clock
from banyan.core.errors import InvalidInput
from banyan.core.views import service_errors
from banyan.people.models import AuthenticatedHttpRequest, Organisation
from banyan.places.choices import RegionKind
from banyan.places.models import Region
from banyan.response import metrics
from banyan.response.forms import category_label, organisation_label, region_label
from banyan.response.metrics import DAY, WEEK, Figures, Period, Ratings, Tally
from banyan.response.models import Category
from banyan.response.views import duration_text
from banyan.warning.choices import Grade

AREA_KINDS = (RegionKind.STREET, RegionKind.COMMUNITY, RegionKind.GRID)
DAILY_UP_TO = 62  # days: a longer period's trend goes by week unless asked otherwise
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

CLOCK_COLUMNS = (
    ("acknowledge", gettext_lazy("Accepted on time"), gettext_lazy("Median time to accept")),
    ("arrive", gettext_lazy("Arrived on time"), gettext_lazy("Median time to arrive")),
    ("resolve", gettext_lazy("Resolved on time"), gettext_lazy("Median time to resolve")),
)


def _language() -> str:
    return get_language() or ""


# --- the filter ------------------------------------------------------------------------------------


def _day_field(label, invalid) -> forms.DateField:
    """A day as the browser's date picker sends it (``2026-06-01``), optional."""
    return forms.DateField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": invalid},
    )


class MetricsForm(forms.Form):
    """The period (whole days, community time), the area within the caller's scope and the trend's
    step. Every field may be left out: the last 30 days, all of the caller's area, by day."""

    start = _day_field(
        gettext_lazy("From"), gettext_lazy("“From”: enter the first day as a date, e.g. 2026-06-01.")
    )
    end = _day_field(gettext_lazy("To"), gettext_lazy("“To”: enter the last day as a date, e.g. 2026-06-30."))
    region = forms.ChoiceField(
        label=gettext_lazy("Area"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("“Area”: choose one of the listed areas.")},
    )
    step = forms.ChoiceField(
        label=gettext_lazy("Trend by"),
        required=False,
        choices=[
            ("", gettext_lazy("As fits the period")),
            (DAY, gettext_lazy("Day")),
            (WEEK, gettext_lazy("Week")),
        ],
        error_messages={"invalid_choice": gettext_lazy("“Trend by”: choose day or week.")},
    )

    def __init__(self, *args, regions: Sequence[Region] = (), language: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.regions = {region.code: region for region in regions}
        cast(forms.ChoiceField, self.fields["region"]).choices = [
            ("", _("All of my area")),
            *((region.code, region_label(region, language)) for region in regions),
        ]

    def clean_region(self) -> Region | None:
        code = self.cleaned_data.get("region")
        return self.regions[code] if code else None

    @staticmethod
    def _period(start: dt.date | None, end: dt.date | None) -> Period:
        """The days asked for; a missing end is 30 days after the start (today at the latest), a
        missing start 30 days before the end, both missing the last 30 days."""
        span = dt.timedelta(days=metrics.DEFAULT_DAYS - 1)
        if start is None and end is None:
            return metrics.recent_period()
        if start is None:
            assert end is not None
            return Period(end - span, end)
        if end is None:
            end = max(start, min(start + span, metrics.local_date(clock.now())))
        return Period(start, end)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        period = self._period(data.get("start"), data.get("end"))
        if period.last < period.first:
            self.add_error("end", _("“To”: the last day is before the first day."))
        elif period.days > metrics.MAX_DAYS:
            self.add_error(
                "start", _("“From”: a period is at most %(days)d days long.") % {"days": metrics.MAX_DAYS}
            )
        data["period"] = period
        data["step"] = data.get("step") or (DAY if period.days <= DAILY_UP_TO else WEEK)
        return data


# --- the tables ------------------------------------------------------------------------------------

TEXT, COUNT, SHARE, DURATION, MEAN = "text", "count", "share", "duration", "mean"


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = COUNT

    @property
    def is_number(self) -> bool:
        return self.kind != TEXT


@dataclass
class Table:
    """One table of the page and one sheet of the export: raw values, shown by their column's kind."""

    key: str
    title: str
    sheet: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    total: list[Any] | None = None
    note: str = ""

    @property
    def lines(self) -> list[list[str]]:
        return [_texts(self.columns, row) for row in self.rows]

    @property
    def total_line(self) -> list[str] | None:
        return _texts(self.columns, self.total) if self.total is not None else None


def _text(kind: str, value: Any) -> str:
    if value is None:
        return "—"
    if kind == SHARE:
        return f"{value * 100:.0f}%"
    if kind == DURATION:
        return duration_text(value)
    if kind == MEAN:
        return f"{value:.2f}"
    return str(value)


def _texts(columns: list[Column], row: list[Any]) -> list[str]:
    return [_text(column.kind, value) for column, value in zip(columns, row, strict=True)]


def _sla_columns(first: str) -> list[Column]:
    columns = [Column(first, TEXT), Column(_("Incidents"))]
    for _name, on_time, median in CLOCK_COLUMNS:
        columns += [Column(str(on_time), SHARE), Column(str(median), DURATION)]
    return [*columns, Column(_("Escalations")), Column(_("On scene far from the place"))]


def _sla_row(label: str, tally: Tally) -> list[Any]:
    row: list[Any] = [label, tally.incidents]
    for name, _on_time, _median in CLOCK_COLUMNS:
        row += [tally.share(name), tally.median_s(name)]
    return [*row, tally.escalations, tally.on_scene_far]


def _rating_columns(first: str) -> list[Column]:
    return [
        Column(first, TEXT),
        Column(_("Ratings")),
        Column(_("Mean rating (1–5)"), MEAN),
        Column(_("Satisfied (4 or 5)"), SHARE),
    ]


def _rating_row(label: str, ratings: Ratings) -> list[Any]:
    return [label, ratings.count, ratings.mean, ratings.satisfied_share]


def _by_name(keys, label: Callable[[Any], str]) -> list[tuple[str, Any]]:
    return sorted(((label(key), key) for key in keys), key=lambda pair: pair[0])


def _bucket_label(start: dt.date) -> str:
    return start.isoformat()


def build_tables(data: Figures, language: str) -> list[Table]:
    """The page's tables (and the export's sheets), in the page's language."""
    bodies = {o.pk: o for o in Organisation.objects.filter(pk__in=[*data.by_body, *data.ratings_by_body])}
    categories = {c.pk: c for c in Category.objects.filter(pk__in=data.ratings_by_category)}

    def body_name(pk: int) -> str:
        return organisation_label(bodies[pk], language) if pk in bodies else _("Unknown body")

    def category_name(pk: int) -> str:
        return category_label(categories[pk], language) if pk in categories else _("Unknown category")

    on_time = _(
        "On time: the share of the deadlines decided (met, met late or missed) that were met in time; "
        "a deadline still running is not counted. Median times run from the opening of the incident."
    )
    by_grade = Table(
        "sla-grade",
        _("SLA by grade"),
        _("By grade"),
        _sla_columns(_("Grade")),
        rows=[_sla_row(str(Grade(code).label), tally) for code, tally in data.by_grade.items()],
        total=_sla_row(_("All grades"), data.total),
        note=on_time,
    )
    by_body = Table(
        "sla-body",
        _("SLA by responsible body"),
        _("By responsible body"),
        _sla_columns(_("Responsible body")),
        rows=[_sla_row(name, data.by_body[pk]) for name, pk in _by_name(data.by_body, body_name)],
        total=_sla_row(_("All bodies"), data.total),
        note=on_time,
    )
    satisfaction_body = Table(
        "satisfaction-body",
        _("Satisfaction by responsible body"),
        _("Satisfaction by body"),
        _rating_columns(_("Responsible body")),
        rows=[
            _rating_row(name, data.ratings_by_body[pk])
            for name, pk in _by_name(data.ratings_by_body, body_name)
        ],
        total=_rating_row(_("All bodies"), data.ratings),
        note=_("Residents' ratings of how their reports were dealt with, given in the period."),
    )
    satisfaction_category = Table(
        "satisfaction-category",
        _("Satisfaction by category"),
        _("Satisfaction by category"),
        _rating_columns(_("Category")),
        rows=[
            _rating_row(name, data.ratings_by_category[pk])
            for name, pk in _by_name(data.ratings_by_category, category_name)
        ],
        total=_rating_row(_("All categories"), data.ratings),
    )
    scores = Table(
        "ratings",
        _("Ratings by score"),
        _("Ratings by score"),
        [Column(_("Score"), TEXT), Column(_("Ratings")), Column(_("Share of ratings"), SHARE)],
        rows=[
            [
                _("%(score)d of 5") % {"score": score},
                data.ratings.by_stars[score],
                round(data.ratings.by_stars[score] / data.ratings.count, 4) if data.ratings.count else None,
            ]
            for score in sorted(data.ratings.by_stars, reverse=True)
        ],
    )
    weekly = data.step == WEEK
    trend = Table(
        "trend",
        _("Trend by week") if weekly else _("Trend by day"),
        _("Trend"),
        [
            Column(_("Week from") if weekly else _("Day"), TEXT),
            Column(_("Incidents opened")),
            *(Column(str(on_time_label), SHARE) for _name, on_time_label, _median in CLOCK_COLUMNS),
            Column(_("Ratings")),
            Column(_("Mean rating (1–5)"), MEAN),
        ],
        rows=[
            [
                _bucket_label(start),
                tally.incidents,
                *(tally.share(name) for name, _on_time, _median in CLOCK_COLUMNS),
                data.ratings_trend[start].count,
                data.ratings_trend[start].mean,
            ]
            for start, tally in data.trend.items()
        ],
        note=_("Incidents by the day they were opened; ratings by the day they were given."),
    )
    return [by_grade, by_body, satisfaction_body, satisfaction_category, scores, trend]


# --- the charts ------------------------------------------------------------------------------------


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _series(table: Table, column: int, kind: str, axis: int = 0) -> dict[str, Any]:
    """One column of ``table`` as a chart's series (shares in percent)."""
    share = table.columns[column].kind == SHARE
    values = [row[column] for row in table.rows]
    return {
        "name": table.columns[column].header,
        "kind": kind,
        "axis": axis,
        "unit": "%" if share else "",
        "values": [_percent(v) for v in values] if share else values,
    }


def build_charts(tables: list[Table]) -> list[dict[str, Any]]:
    """What ``metrics.js`` draws, taken from the tables so that both say the same: per chart the key of
    its table, the categories along the axis, the value axes and the series (in the page's language)."""
    by_key = {table.key: table for table in tables}
    percent = {"name": "", "max": 100, "unit": "%"}
    on_time = (2, 4, 6)  # the SLA tables' "on time" columns, and the trend's 2, 3, 4
    charts = [
        {
            "key": key,
            "categories": [row[0] for row in by_key[key].rows],
            "axes": [percent],
            "series": [_series(by_key[key], column, "bar") for column in on_time],
        }
        for key in ("sla-grade", "sla-body")
    ]
    trend = by_key["trend"]
    charts.append(
        {
            "key": "trend",
            "categories": [row[0] for row in trend.rows],
            "axes": [{"name": trend.columns[1].header, "max": None}, percent],
            "series": [
                _series(trend, 1, "bar"),
                *(_series(trend, column, "line", 1) for column in (2, 3, 4)),
            ],
        }
    )
    scores = by_key["ratings"]
    charts.append(
        {
            "key": "ratings",
            "categories": [row[0] for row in scores.rows],
            "axes": [{"name": scores.columns[1].header, "max": None}],
            "series": [_series(scores, 1, "bar")],
        }
    )
    return charts


# --- the page and the export -----------------------------------------------------------------------


def _key_figures(data: Figures) -> list[tuple[str, Any, str]]:
    """The period's headline numbers: (label, value, kind)."""
    figures: list[tuple[str, Any, str]] = [(_("Incidents opened"), data.total.incidents, COUNT)]
    figures += [(str(on_time), data.total.share(name), SHARE) for name, on_time, _median in CLOCK_COLUMNS]
    return [
        *figures,
        (_("On scene far from the place"), data.total.on_scene_far, COUNT),
        (_("Ratings"), data.ratings.count, COUNT),
        (_("Mean rating (1–5)"), data.ratings.mean, MEAN),
    ]


def _area_name(user, region: Region | None, language: str) -> str:
    if region is not None:
        return region_label(region, language)
    if user.region_id is not None:
        return region_label(user.region, language)
    return _("All regions")


def _evaluate(request: AuthenticatedHttpRequest) -> tuple[MetricsForm, dict[str, Any] | None]:
    """The filter as asked, and when it is valid the figures, tables and charts it gives."""
    user = request.user
    metrics.check_viewer(user)
    language = _language()
    regions = list(Region.objects.restrict(user).filter(kind__in=AREA_KINDS).order_by("path"))
    form = MetricsForm(request.GET, regions=regions, language=language)
    if not form.is_valid():
        return form, None
    period, region, step = form.cleaned_data["period"], form.cleaned_data["region"], form.cleaned_data["step"]
    try:
        data = metrics.figures(actor=user, period=period, step=step, region=region)
    except InvalidInput as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return form, None
    tables = build_tables(data, language)
    # The form as shown, and the export's query: the days as they were taken (the last 30 days when
    # none were given), so that the export made later says the same as the page.
    query = request.GET.copy()
    query["start"], query["end"] = period.first.isoformat(), period.last.isoformat()
    form = MetricsForm(query, regions=regions, language=language)
    form.is_valid()
    return form, {
        "query": query.urlencode(),
        "figures": data,
        "period": period,
        "area_name": _area_name(user, region, language),
        "key_figures": [(label, _text(kind, value)) for label, value, kind in _key_figures(data)],
        "tables": tables,
    }


@login_required
@require_GET
@service_errors
def metrics_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """SLA performance by grade and by responsible body, satisfaction and the trend, for the period,
    over the caller's scope (or an area of it). Bad dates: the page with the message, status 400."""
    form, result = _evaluate(request)
    context: dict[str, Any] = {"form": form, "nav": "metrics", **(result or {})}
    if result is not None:
        context["charts"] = build_charts(result["tables"])
        context["export_url"] = f"{reverse('response:metrics-export')}?{result['query']}"
    return render(request, "response/metrics.html", context, status=200 if result is not None else 400)


def _sheet_title(title: str, used: set[str]) -> str:
    """A sheet's name as Excel allows it: at most 31 characters, none of []:*?/\\, unique."""
    name = "".join(c for c in title if c not in "[]:*?/\\")[:31] or "Sheet"
    candidate, number = name, 2
    while candidate.lower() in used:
        suffix = f" {number}"
        candidate, number = name[: 31 - len(suffix)] + suffix, number + 1
    used.add(candidate.lower())
    return candidate


NUMBER_FORMATS = {SHARE: "0.0%", DURATION: "[h]:mm:ss", MEAN: "0.00", COUNT: "0"}


def _cell(sheet, value: Any, kind: str):
    """A cell of the export: durations as Excel durations, shares as percentages, text always text
    (never a formula, whatever it starts with)."""
    from openpyxl.cell import WriteOnlyCell

    if kind == DURATION and value is not None:
        value = value / 86400
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str):
        cell.data_type = "s"
    elif kind in NUMBER_FORMATS:
        cell.number_format = NUMBER_FORMATS[kind]
    return cell


def workbook_bytes(tables: list[Table], summary: list[tuple[str, Any, str]]) -> bytes:
    """The export: a summary sheet, then one sheet a table (its header row first, its total last)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    used: set[str] = set()
    sheet = workbook.create_sheet(_sheet_title(_("Summary"), used))
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 24
    for label, value, kind in summary:
        sheet.append([_cell(sheet, label, TEXT), _cell(sheet, value, kind)])
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.sheet, used))
        sheet.freeze_panes = "B2"
        for index in range(len(table.columns)):
            sheet.column_dimensions[get_column_letter(index + 1)].width = 28 if index == 0 else 16
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, column.header)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in [*table.rows, *([table.total] if table.total is not None else [])]:
            sheet.append(
                [_cell(sheet, value, column.kind) for column, value in zip(table.columns, row, strict=True)]
            )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@login_required
@require_GET
@service_errors
def metrics_export(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The page's tables as an XLSX workbook (same filter, same scope); bad dates answer as the page."""
    form, result = _evaluate(request)
    if result is None:
        return render(request, "response/metrics.html", {"form": form, "nav": "metrics"}, status=400)
    period: Period = result["period"]
    summary: list[tuple[str, Any, str]] = [
        (_("From"), period.first.isoformat(), TEXT),
        (_("To"), period.last.isoformat(), TEXT),
        (_("Area"), result["area_name"], TEXT),
        (_("Made at"), date_format(timezone.localtime(clock.now()), "DATETIME_FORMAT"), TEXT),
        *_key_figures(result["figures"]),
    ]
    response = HttpResponse(workbook_bytes(result["tables"], summary), content_type=XLSX)
    name = f"banyan-metrics-{period.first.isoformat()}-{period.last.isoformat()}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
