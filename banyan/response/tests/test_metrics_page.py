"""The response metrics page (``/response/metrics/``) and its XLSX export: role × scope (8 roles, and a
director of another community who sees only her own), the numbers against a small set of incidents
and ratings whose every time is chosen, the trend by day and by week, bad dates and areas answered by
a message naming the field, and the export's sheets in the page's language."""

from __future__ import annotations

import datetime as dt
import io
import secrets
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from banyan.people.models import Organisation, User
from banyan.response.models import Category, Incident, Report

ZONE = ZoneInfo("Asia/Shanghai")  # settings.TIME_ZONE; NOW (conftest) is 2026-07-01 17:00 there
JUNE = {"start": "2026-06-01", "end": "2026-06-30"}
ROLES = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "resident01", "auditor"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def local(day: int, hour: int, minute: int = 0, month: int = 6) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=ZONE)


def make_incident(
    *,
    community,
    grid,
    body,
    grade: str,
    opened: dt.datetime,
    accepted: float | None = None,
    on_scene: float | None = None,
    resolved: float | None = None,
    escalation_level: int = 0,
    deadlines: tuple[float, float, float] = (60, 600, 3600),
) -> Incident:
    """An incident opened at ``opened`` whose steps came the given seconds later (None: not yet)."""

    def after(seconds: float | None) -> dt.datetime | None:
        return None if seconds is None else opened + dt.timedelta(seconds=seconds)

    status = "resolved" if resolved is not None else "on_scene" if on_scene is not None else "assigned"
    if status == "assigned" and accepted is not None:
        status = "accepted"
    return Incident.objects.create(
        category=Category.objects.get(code="flooding"),
        community=community,
        grid=grid,
        grade=grade,
        status=status,
        source="staff",
        accountable=body,
        escalation_level=escalation_level,
        created_at=opened,
        updated_at=opened,
        accepted_at=after(accepted),
        on_scene_at=after(on_scene),
        resolved_at=after(resolved),
        acknowledge_due=opened + dt.timedelta(seconds=deadlines[0]),
        arrive_due=opened + dt.timedelta(seconds=deadlines[1]),
        resolve_due=opened + dt.timedelta(seconds=deadlines[2]),
    )


def rate(incident: Incident, rating: int, at: dt.datetime) -> Report:
    return Report.objects.create(
        source="web",
        category=incident.category,
        incident=incident,
        rating=rating,
        rated_at=at,
        token=secrets.token_hex(16),
        requested_at=incident.created_at,
    )


@pytest.fixture
def seeded(site, users, outside):
    """Five incidents of June in the demo community's first grid (two bodies, every grade), one of
    May, one of the sibling community in the same street, and ratings in June and July."""
    grid, community, committee = site["grid"], site["grid"].parent, site["committee"]
    property_body = Organisation.objects.get(code="ORG-PROPERTY")
    sibling = outside["sibling"]
    sibling_body = Organisation.objects.create(
        code="T-SIB-BODY", kind="community_committee", name_zh="邻社区居委会"
    )
    sibling_body.regions.add(sibling["community"])
    here = {"community": community, "grid": grid}
    a = make_incident(
        **here, body=committee, grade="red", opened=local(10, 10), accepted=30, on_scene=500, resolved=4000
    )
    b = make_incident(**here, body=committee, grade="red", opened=local(10, 12), accepted=90, on_scene=700)
    c = make_incident(
        **here,
        body=property_body,
        grade="blue",
        opened=local(20, 9),
        accepted=20,
        on_scene=300,
        resolved=1800,
    )
    d = make_incident(**here, body=committee, grade="orange", opened=local(25, 8), escalation_level=2)
    g = make_incident(  # its resolve deadline still runs at NOW
        **here,
        body=committee,
        grade="yellow",
        opened=local(30, 20),
        accepted=10,
        on_scene=100,
        deadlines=(60, 600, 3 * 86400),
    )
    may = make_incident(**here, body=committee, grade="yellow", opened=local(20, 9, month=5), accepted=10)
    far = make_incident(
        community=sibling["community"],
        grid=sibling["grid"],
        body=sibling_body,
        grade="blue",
        opened=local(12, 9),
    )
    Incident.objects.filter(pk=a.pk).update(on_scene_far=True, on_scene_distance_m=420.0)
    rate(a, 5, local(11, 9))
    rate(b, 4, local(15, 9))
    rate(c, 2, local(21, 9))
    rate(d, 3, local(1, 9, month=7))  # given in July: not June's
    rate(far, 1, local(13, 9))
    director = User.objects.create_user(
        "t-sib-director", role="community_director", region=sibling["community"]
    )
    return {"a": a, "b": b, "c": c, "d": d, "g": g, "may": may, "far": far, "sibling_director": director}


@pytest.fixture
def page(users, seeded):
    """``page("director", language="en", **query)``: that account's answer to the metrics page."""

    def get(username: str | None, *, language: str = "en", url: str = "", **query):
        client = Client(headers={"Accept-Language": language})
        if username:
            user = seeded["sibling_director"] if username == "sibling-director" else users[username]
            client.force_login(user)
        return client.get(url or reverse("response:metrics"), query)

    return get


def incidents_seen(response) -> int:
    return response.context["figures"].total.incidents


# --- who sees what ---------------------------------------------------------------------------------

# Every role that sees incidents sees the figures (the API's metrics ask the same): 200; residents 403.
EXPECTED_STATUS = {username: 403 if username == "resident01" else 200 for username in ROLES}


@pytest.mark.parametrize("url_name", ["response:metrics", "response:metrics-export"])
def test_every_role_gets_the_page_and_the_export_or_403(url_name, page):
    url = reverse(url_name)
    anonymous = page(None, url=url, **JUNE)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("account:login"))
    for username, status in EXPECTED_STATUS.items():
        response = page(username, url=url, **JUNE)
        assert response.status_code == status, (url_name, username)
        if status == 200 and url_name == "response:metrics-export":
            assert response["Content-Type"] == XLSX


def test_each_role_counts_only_the_incidents_of_its_scope(page, seeded):
    june_here = 5  # a, b, c, d, g
    seen = {
        username: incidents_seen(page(username, **JUNE))
        for username in EXPECTED_STATUS
        if username != "resident01"
    }
    assert seen["director"] == june_here, "her community, not the sibling's nor May's"
    assert seen["grid01"] == june_here, "the grid of the incidents is grid01's"
    assert seen["street01"] == june_here + 1, "the street holds both communities"
    assert seen["admin"] >= june_here + 1 and seen["auditor"] == seen["admin"]
    assert seen["volunteer01"] == 0, "a volunteer sees only what was assigned to them"
    assert seen["property01"] in (0, june_here)
    sibling = page("sibling-director", **JUNE)
    assert incidents_seen(sibling) == 1 and sibling.context["figures"].ratings.count == 1
    assert incidents_seen(page("grid02", **JUNE)) == 0, "another grid"


def test_an_area_narrows_to_one_region_of_the_scope_and_one_outside_it_is_refused(page, site, outside):
    street = page("street01", region=outside["sibling"]["community"].code, **JUNE)
    assert street.status_code == 200 and incidents_seen(street) == 1
    refused = page("director", region=outside["sibling"]["community"].code, **JUNE)
    assert refused.status_code == 400
    assert "“Area”: choose one of the listed areas." in refused.content.decode()
    assert "figures" not in refused.context
    grid = page("director", region=site["grid"].code, **JUNE)
    assert incidents_seen(grid) == 5


# --- the numbers -----------------------------------------------------------------------------------


def test_the_sla_figures_by_grade_and_body(page, site):
    figures = page("director", **JUNE).context["figures"]
    red, orange, yellow, blue = (figures.by_grade[g] for g in ("red", "orange", "yellow", "blue"))
    assert list(figures.by_grade) == ["red", "orange", "yellow", "blue"]
    # red: a (accepted 30 s, on scene 500 s, resolved late 4000 s) and b (late, late, still missing)
    assert red.incidents == 2
    assert [red.share(n) for n in ("acknowledge", "arrive", "resolve")] == [0.5, 0.5, 0.0]
    assert [red.median_s(n) for n in ("acknowledge", "arrive", "resolve")] == [60.0, 600.0, 4000.0]
    # orange: d, nothing done, escalated twice
    assert (
        orange.incidents,
        orange.escalations,
        orange.share("acknowledge"),
        orange.median_s("resolve"),
    ) == (
        1,
        2,
        0.0,
        None,
    )
    # yellow: g, its resolve deadline running: not counted
    assert (yellow.share("acknowledge"), yellow.share("resolve"), yellow.decided["resolve"]) == (1.0, None, 0)
    assert [blue.median_s(n) for n in ("acknowledge", "arrive", "resolve")] == [20.0, 300.0, 1800.0]
    total = figures.total
    assert (total.incidents, total.escalations, total.on_scene_far) == (5, 2, 1)
    assert (red.on_scene_far, blue.on_scene_far) == (1, 0), "a was marked on scene 420 m from its place"
    assert [total.share(n) for n in ("acknowledge", "arrive", "resolve")] == [0.6, 0.6, 0.25]
    committee, property_body = figures.by_body[site["committee"].pk], figures.by_body[_property().pk]
    assert (committee.incidents, property_body.incidents) == (4, 1)
    assert committee.share("resolve") == 0.0 and property_body.share("resolve") == 1.0


def _property():
    return Organisation.objects.get(code="ORG-PROPERTY")


def test_the_shares_are_the_apis(page, api):
    """The page and ``GET /api/v1/response/metrics`` count alike (the API's 30 days reach back to 1 June)."""
    figures = page("director", **JUNE).context["figures"]
    api_figures = api("director").get("response/metrics?days=30").data
    assert api_figures["incidents"] == figures.total.incidents
    assert api_figures["on_scene_far"] == figures.total.on_scene_far == 1
    for grade, tally in figures.by_grade.items():
        if tally.incidents:
            for name in ("acknowledge", "arrive", "resolve"):
                assert api_figures["by_grade"][grade][f"{name}_met_share"] == tally.share(name), (grade, name)


def test_satisfaction_counts_the_ratings_given_in_the_period(page, site):
    figures = page("director", **JUNE).context["figures"]
    assert (figures.ratings.count, figures.ratings.mean, figures.ratings.satisfied_share) == (3, 3.67, 0.6667)
    assert figures.ratings.by_stars == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}
    committee = figures.ratings_by_body[site["committee"].pk]
    assert (committee.count, committee.mean, committee.satisfied_share) == (2, 4.5, 1.0)
    assert figures.ratings_by_body[_property().pk].mean == 2.0


def test_the_tables_show_the_numbers_by_name(page):
    html = page("director", **JUNE).content.decode()
    for text in (
        "Red (level I)",
        "50%",
        "1 min 0 s",
        "1 h 6 min",
        "4.50",
        "67%",
        "All grades",
        'data-table="sla-body"',
        'id="metrics-charts"',
    ):
        assert text in html, text
    assert "ORG-COMMITTEE" not in html and "ORG-PROPERTY" not in html, "bodies by name, not by code"


def test_the_trend_by_day_and_by_week(page):
    daily = page("director", **JUNE).context
    trend = daily["figures"].trend
    assert len(trend) == 30 and daily["figures"].step == "day"
    assert trend[dt.date(2026, 6, 10)].incidents == 2 and trend[dt.date(2026, 6, 11)].incidents == 0
    assert daily["figures"].ratings_trend[dt.date(2026, 6, 11)].count == 1
    weekly = page("director", step="week", **JUNE).context["figures"]
    assert [start.isoformat() for start in weekly.trend] == [
        "2026-06-01",
        "2026-06-08",
        "2026-06-15",
        "2026-06-22",
        "2026-06-29",
    ]
    assert [t.incidents for t in weekly.trend.values()] == [0, 2, 1, 1, 1]
    long = page("director", start="2026-01-01", end="2026-06-30").context["figures"]
    assert long.step == "week", "a long period goes by week unless asked"
    assert page("director").context["figures"].period.days == 30, "by default the last 30 days"


def test_the_charts_carry_the_tables_numbers(page):
    charts = {chart["key"]: chart for chart in page("director", **JUNE).context["charts"]}
    assert set(charts) == {"sla-grade", "sla-body", "trend", "ratings"}
    grade = charts["sla-grade"]
    assert grade["categories"][0] == "Red (level I)"
    assert [s["values"][0] for s in grade["series"]] == [50.0, 50.0, 0.0]
    assert charts["ratings"]["series"][0]["values"] == [1, 1, 0, 1, 0]


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-02-30"}, "“From”: enter the first day as a date, e.g. 2026-06-01."),
        ({"end": "yesterday"}, "“To”: enter the last day as a date, e.g. 2026-06-30."),
        ({"start": "2026-06-30", "end": "2026-06-01"}, "“To”: the last day is before the first day."),
        ({"start": "2024-01-01", "end": "2026-06-30"}, "“From”: a period is at most 366 days long."),
        ({"step": "hour"}, "“Trend by”: choose day or week."),
    ],
)
def test_bad_input_names_the_field_on_the_page_and_the_export(page, query, message):
    response = page("director", **query)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert "figures" not in response.context
    export = page("director", url=reverse("response:metrics-export"), **query)
    assert export.status_code == 400 and export["Content-Type"].startswith("text/html")


def test_the_chinese_page_names_the_field_in_chinese(page):
    response = page("director", language="zh-hans", start="2026-13-01")
    html = response.content.decode()
    assert response.status_code == 400 and "“开始日期”：请填写日期，例如 2026-06-01。" in html
    chinese = page("director", language="zh-hans", **JUNE).content.decode()
    for text in ("处置绩效", "各等级时限达成情况", "按时接单率", "红色", "2026年6月1日", "1 分 0 秒"):
        assert text in chinese, text


# --- the export ------------------------------------------------------------------------------------


def _workbook(response):
    from openpyxl import load_workbook

    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert (
        response["Content-Disposition"] == 'attachment; filename="banyan-metrics-2026-06-01-2026-06-30.xlsx"'
    )
    return load_workbook(io.BytesIO(response.content))


def test_the_export_holds_the_same_tables_in_the_pages_language(page):
    english = _workbook(page("director", url=reverse("response:metrics-export"), **JUNE))
    assert english.sheetnames == [
        "Summary",
        "By grade",
        "By responsible body",
        "Satisfaction by body",
        "Satisfaction by category",
        "Ratings by score",
        "Trend",
    ]
    by_grade = english["By grade"]
    assert [c.value for c in by_grade[1]][:4] == [
        "Grade",
        "Incidents",
        "Accepted on time",
        "Median time to accept",
    ]
    red = [c.value for c in by_grade[2]]
    assert red[:4] == ["Red (level I)", 2, 0.5, dt.timedelta(seconds=60)]  # an Excel duration
    assert by_grade.cell(2, 3).number_format == "0.0%"
    assert [c.value for c in by_grade[6]][:2] == ["All grades", 5]
    assert english["Trend"].max_row == 31
    summary = {row[0].value: row[1].value for row in english["Summary"].iter_rows()}
    assert (summary["From"], summary["To"], summary["Incidents opened"]) == ("2026-06-01", "2026-06-30", 5)

    chinese = _workbook(page("director", language="zh-hans", url=reverse("response:metrics-export"), **JUNE))
    assert chinese.sheetnames[1] == "按等级"
    header = [c.value for c in chinese["按等级"][1]]
    assert header[0] == "等级" and not any(h.isascii() for h in header), header


def test_names_that_look_like_formulas_stay_text(page, site):
    Organisation.objects.filter(pk=site["committee"].pk).update(name_zh="=1+1", name_en="=1+1")
    sheet = _workbook(page("director", url=reverse("response:metrics-export"), **JUNE))["By responsible body"]
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "=1+1" in names
    cell = next(c for c in sheet["A"] if c.value == "=1+1")
    assert cell.data_type == "s"


def test_the_page_shows_the_days_it_took_and_the_export_asks_for_the_same(page):
    """Without dates: the last 30 days up to today (1 July in the community), written into the form
    and the export's link, so that an export made after midnight still says what the page said."""
    context = page("director").context
    assert (context["form"]["start"].value(), context["form"]["end"].value()) == ("2026-06-02", "2026-07-01")
    assert context["export_url"] == reverse("response:metrics-export") + "?start=2026-06-02&end=2026-07-01"
    html = page("director", step="week", **JUNE).content.decode()
    assert 'value="2026-06-01"' in html and "step=week" in page("director", step="week").context["export_url"]


def test_the_queries_do_not_grow_with_the_incidents(page, seeded, site):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert page("director", **JUNE).status_code == 200
        return len(captured)

    queries()  # the first request of a session makes a few more (the sign-in's bookkeeping)
    before = queries()
    here = {"community": site["grid"].parent, "grid": site["grid"], "body": _property()}
    for day in range(2, 8):
        incident = make_incident(**here, grade="yellow", opened=local(day, 9), accepted=10, resolved=100)
        rate(incident, 4, local(day, 12))
    assert queries() == before
