"""The audit page (/audit/): who may read it and export it (role × page), the log in words, the filters,
the chain's verification state (a tampered entry shows as the break), the export (itself audited),
and the page in Chinese without English words or codes."""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from banyan.audit import services
from banyan.audit.actions import AuditAction
from banyan.audit.choices import ACTION_LABELS
from banyan.audit.models import AuditEntry
from banyan.audit.services import Event, VerifyResult, record
from banyan.core import clock

ROLES = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "resident01", "auditor"]
READERS = {"admin", "auditor"}
MARCH_1 = dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC)  # 09:30 in the community (UTC+8)


@pytest.fixture
def signed_in(users):
    """``signed_in("auditor")``: a web client with a session for that demo account, reading English."""

    def make(username: str, language: str = "en") -> Client:
        client = Client(headers={"Accept-Language": language})
        client.force_login(users[username])
        return client

    return make


def log_url(**query) -> str:
    return reverse("audit:log") + (f"?{urlencode(query)}" if query else "")


def export_url(**query) -> str:
    return reverse("audit:export") + (f"?{urlencode(query)}" if query else "")


def shown_entries(response) -> list[int]:
    return [int(n) for n in re.findall(r'data-entry="(\d+)"', response.content.decode())]


def exports() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.AUDIT_EXPORT).order_by("id"))


@pytest.fixture
def story(users):
    """Three entries a day apart: a grid worker reveals a phone, the director resolves an alert, a failed
    sign-in (no account acts)."""
    grid01, director = users["grid01"], users["director"]
    entries = {}
    with clock.use(clock.SimulatedClock(MARCH_1)) as simulated:
        [entries["reveal"]] = record(
            actor=grid01,
            events=[Event(AuditAction.RESIDENT_REVEAL, "resident", 4242, "入户走访核实", {"field": "phone"})],
        )
        simulated.advance(dt.timedelta(days=1))
        [entries["resolve"]] = record(
            actor=director,
            events=[Event(AuditAction.ALERT_RESOLVE, "alert", 77, "", {"rule": 3, "grade": "orange"})],
        )
        simulated.advance(dt.timedelta(days=1))
        [entries["failed"]] = record(
            actor="anonymous",
            events=[Event(AuditAction.LOGIN_FAILED, "login", "", "", {"address": "5f0c1e"})],
        )
    return entries


# --- who may read and export the log ------------------------------------------------------------


@pytest.mark.parametrize("username", ROLES)
def test_who_may_read_and_export_the_log(username, signed_in, story, users):
    client = signed_in(username)
    allowed = username in READERS
    page = client.get(log_url())
    assert page.status_code == (200 if allowed else 403), username
    before = AuditEntry.objects.count()
    export = client.get(export_url(action="resident.reveal"))
    assert export.status_code == (200 if allowed else 403), username
    verify = client.post(reverse("audit:verify"))
    assert verify.status_code == (302 if allowed else 403), username
    if allowed:
        assert shown_entries(page)[:3] == [story["failed"].id, story["resolve"].id, story["reveal"].id]
        assert export["Content-Type"] == services.XLSX_CONTENT_TYPE
        assert "no-store" in export["Cache-Control"]
        [entry] = exports()
        assert (entry.actor_id, entry.subject_type, entry.subject_id) == (users[username].pk, "audit", "log")
        assert entry.details == {"format": "xlsx", "rows": 1, "filters": {"action": "resident.reveal"}}
    else:
        assert AuditEntry.objects.count() == before, "a refused export records nothing"
        assert exports() == []


def test_anonymous_is_sent_to_sign_in(db):
    client = Client()
    for response in (client.get(log_url()), client.get(export_url()), client.post(reverse("audit:verify"))):
        assert response.status_code == 302 and response["Location"].startswith(reverse("account:login"))
    assert exports() == []


# --- the log in words -----------------------------------------------------------------------------


def test_each_entry_reads_in_words_in_the_community_time_zone(signed_in, story, users):
    html = signed_in("auditor").get(log_url()).content.decode()
    grid01 = users["grid01"]
    assert f"{grid01.last_name}{grid01.first_name}" in html, "a Chinese name, family name first"
    assert "Grid worker" in html and "Personal data shown in clear" in html
    assert "Resident" in html and "4242" in html and "入户走访核实" in html
    assert "<dt>Field</dt><dd>Phone</dd>" in html
    assert "Alert resolved" in html and "<dt>Grade</dt><dd>Orange</dd>" in html
    assert "Someone not signed in" in html and "Sign-in failed" in html
    assert "2026-03-01 09:30:00" in html, "times in the community's time zone"
    assert 'datetime="2026-03-01T09:30:00+08:00"' in html
    table = html.split("<tbody>", 1)[1]
    assert "resident.reveal" not in table and "alert.resolve" not in table, "no raw codes"


def test_every_action_has_a_label_in_both_languages():
    assert [action for action in AuditAction if action not in ACTION_LABELS] == []
    with translation.override("zh-hans"):
        untranslated = [a for a, label in ACTION_LABELS.items() if re.search(r"[A-Za-z]{2,}", str(label))]
    assert untranslated == []


def test_details_read_in_words(db):
    details = {
        "step_up": False,
        "stage": "sign_in",
        "fields": ["phone", "id_number"],
        "role": "grid_worker",
        "grade": "red",
        "nonce": "ab12",
    }
    [entry] = record(actor="cli", events=[Event(AuditAction.OTP_FAILED, "user", 1, "", details)])
    with translation.override("zh-hans"):
        [row] = services.describe_entries([entry])
    assert row.what == "验证码错误" and row.who == "服务器命令" and row.subject == "账号"
    assert dict(row.details) == {
        "敏感操作二次验证": "否",
        "阶段": "登录",
        "字段": "电话、身份证号",
        "角色": "网格员",
        "等级": "红色",
    }, "the random number of the chain's first entry is left out"


# --- filters ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "resident.reveal"}, ["reveal"]),
        ({"actor": "grid01"}, ["reveal"]),
        ({"actor": "anonymous"}, ["failed"]),
        ({"subject_type": "alert"}, ["resolve"]),
        ({"subject_type": "resident", "subject_id": "4242"}, ["reveal"]),
        ({"since": "2026-03-02", "until": "2026-03-02"}, ["resolve"]),
        ({"since": "2026-03-02", "until": "2026-03-31"}, ["failed", "resolve"]),
        ({"until": "2026-03-01", "purpose": "走访"}, ["reveal"]),
        ({"purpose": "nothing like it"}, []),
    ],
)
def test_filters(query, expected, signed_in, story):
    response = signed_in("auditor").get(log_url(**query))
    assert response.status_code == 200
    assert shown_entries(response) == [story[name].id for name in expected]
    if not expected:
        assert "No entries match these filters." in response.content.decode()


def test_the_actor_filter_takes_a_name(signed_in, story, users):
    director = users["director"]
    for name in (f"{director.last_name}{director.first_name}", director.first_name):
        assert shown_entries(signed_in("auditor").get(log_url(actor=name))) == [story["resolve"].id], name


def test_a_bad_filter_is_named_and_left_out(signed_in, story):
    client = signed_in("auditor")
    response = client.get(log_url(since="yesterday", action="resident.peek", subject_id="x" * 65))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a date as year-month-day" in html
    assert "Select a valid choice" in html
    assert "Keep it to at most 64 characters." in html
    assert shown_entries(response)[:3] == [story["failed"].id, story["resolve"].id, story["reveal"].id]
    response = client.get(log_url(since="2026-03-03", until="2026-03-01"))
    assert "The last day is before the first day (2026-03-03)." in response.content.decode()
    assert shown_entries(response)[0] == story["failed"].id, "the wrong last day is left out"


def test_the_log_is_paged_newest_first(signed_in, story):
    record(actor="cli", events=[Event(AuditAction.RULE_UPDATE, "rule", i) for i in range(60)])
    client = signed_in("auditor")
    first = client.get(log_url(actor="cli"))
    second = client.get(log_url(actor="cli", page=2))
    ids = shown_entries(first) + shown_entries(second)
    assert len(shown_entries(first)) == 50 and len(ids) == 60
    assert ids == sorted(ids, reverse=True)
    assert "page=2" in first.content.decode() and "actor=cli" in first.content.decode()


def test_the_page_costs_the_same_queries_for_few_or_many_entries(signed_in, story, users):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in("auditor")
    client.get(log_url())  # the chain's state is verified once, then kept

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(log_url()).status_code == 200
        return len(captured)

    few = queries()
    for username in ("admin", "street01", "director", "grid01", "grid02"):
        record(actor=users[username], events=[Event(AuditAction.RULE_UPDATE, "rule", i) for i in range(10)])
    assert queries() == few, "one query for the names of the accounts, none per row"


# --- the chain's state ----------------------------------------------------------------------------


def test_the_page_shows_the_chain_intact_and_then_the_altered_entry(signed_in, story):
    client = signed_in("auditor")
    html = client.get(log_url()).content.decode()
    last = AuditEntry.objects.order_by("-id").first().id
    assert f"Chain intact up to entry {last}" in html
    assert 'data-chain="intact"' in html
    anchored = services.read_anchor().id  # the last entry committed (a test's own are rolled back)
    assert f"The anchor kept outside the database records entry {anchored}, and it matches." in html

    AuditEntry.objects.filter(pk=story["reveal"].id).update(purpose="随便看看")  # behind the services' back
    assert client.post(reverse("audit:verify") + "?actor=grid01")["Location"] == log_url(actor="grid01")
    html = client.get(log_url()).content.decode()
    bad = story["reveal"].id
    assert 'data-chain="broken"' in html
    assert f"Chain broken at entry {bad}" in html
    assert f"Entry {bad} was altered: its contents do not match its hash." in html
    assert f"Entries 1 to {bad - 1} verify" in html


def test_the_chain_state_is_kept_for_a_while(signed_in, story, monkeypatch):
    calls = []
    real = services.verify
    monkeypatch.setattr(services, "verify", lambda **kw: calls.append(1) or real(**kw))
    client = signed_in("auditor")
    client.get(log_url())
    client.get(log_url(page=2))
    assert len(calls) == 1, "the second page view uses the kept result"
    record(actor="cli", events=[Event(AuditAction.RULE_UPDATE, "rule", 1)])
    html = client.get(log_url()).content.decode()
    assert "1 entries were recorded since" in html or "1 entry" in html
    assert len(calls) == 1
    client.post(reverse("audit:verify"))
    assert len(calls) == 2


def test_a_long_log_is_verified_when_asked(signed_in, story, monkeypatch):
    monkeypatch.setattr(services, "VERIFY_ON_PAGE_MAX", 2)
    client = signed_in("auditor")
    html = client.get(log_url()).content.decode()
    assert "Not verified yet" in html and 'data-chain="unknown"' in html
    client.post(reverse("audit:verify"))
    assert 'data-chain="intact"' in client.get(log_url()).content.decode()


REASONS = [
    (VerifyResult(False, 4, 5, services.ALTERED), "Entry 5 was altered"),
    (VerifyResult(False, 4, 5, services.UNKEYED), "Entry 5 is not sealed with the audit key"),
    (
        VerifyResult(False, 4, 5, "entry 5 is missing (found 7)"),
        "Entry 5 is missing: the next entry found is 7.",
    ),
    (
        VerifyResult(False, 4, 5, "its previous-hash link does not match the entry before it"),
        "Entry 5 does not link to the entry before it",
    ),
    (VerifyResult(False, 4, 5, "entry 5 does not match the head"), "Entry 5 does not match the log's head"),
    (VerifyResult(False, 4, 5, "entry 5 does not match the anchor"), "Entry 5 does not match the anchor"),
    (
        VerifyResult(
            False,
            9,
            10,
            "the chain ends at entry 9 but the head records entry 12 (entries removed from the end)",
        ),
        "The log ends at entry 9 but its head records entry 12",
    ),
    (
        VerifyResult(
            False,
            9,
            10,
            "entries up to 12 were recorded by the anchor but the chain ends at 9: removed from the end",
        ),
        "The anchor recorded entries up to 12 but the log ends at entry 9",
    ),
    (VerifyResult(False, 3, None, "the chain head is missing"), "The log's head record is missing."),
    (
        VerifyResult(False, 0, None, "the audit log is empty but the registry holds data"),
        "The audit log is empty although the registry holds data",
    ),
    (
        VerifyResult(
            False, 0, None, "the anchor file /x/audit.anchor is unusable: its id must be a positive"
        ),
        "The anchor file outside the database cannot be read",
    ),
    (
        VerifyResult(False, 3, None, "the anchor belongs to another", other_chain=True),
        "belongs to another audit log",
    ),
]


@pytest.mark.parametrize(("result", "words"), REASONS)
def test_every_break_is_said_in_words(result, words):
    with translation.override("en"):
        assert words in services.describe_break(result)
    with translation.override("zh-hans"):
        assert not re.search(r"[A-Za-z]{2,}", services.describe_break(result)), result.reason


# --- export -------------------------------------------------------------------------------------


def test_the_export_holds_the_filtered_entries_in_words(signed_in, story):
    response = signed_in("auditor").get(export_url(since="2026-03-01", until="2026-03-02"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:9] == (
        "Entry",
        "Time",
        "Who",
        "Role",
        "Action",
        "On what",
        "Number",
        "Purpose",
        "Details",
    )
    assert [row[0] for row in rows[1:]] == [story["resolve"].id, story["reveal"].id]
    reveal = rows[2]
    assert reveal[1] == "2026-03-01 09:30:00"
    assert (reveal[3], reveal[4], reveal[5], reveal[6], reveal[7]) == (
        "Grid worker",
        "Personal data shown in clear",
        "Resident",
        "4242",
        "入户走访核实",
    )
    assert reveal[8] == "Field: Phone" and reveal[9] == "resident.reveal"
    assert reveal[13] == AuditEntry.objects.get(pk=story["reveal"].id).hash
    [entry] = exports()
    assert entry.details["filters"] == {"since": "2026-03-01", "until": "2026-03-02"}
    assert entry.details["rows"] == 2


def test_a_formula_stays_text_in_the_export(signed_in, db):
    record(actor="cli", events=[Event(AuditAction.RULE_UPDATE, "rule", 1, "=HYPERLINK(1)")])
    content = signed_in("auditor").get(export_url(purpose="HYPERLINK")).content
    sheet = load_workbook(io.BytesIO(content)).active
    cell = list(sheet.iter_rows(min_row=2))[0][7]
    assert (cell.value, cell.data_type) == ("=HYPERLINK(1)", "s")


def test_the_export_as_plain_text(signed_in, story):
    record(actor="cli", events=[Event(AuditAction.RULE_UPDATE, "rule", 1, "=HYPERLINK(1)")])
    response = signed_in("auditor", language="zh-hans").get(export_url(until="2026-03-01", format="csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].endswith('.csv"')
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff条目,时间,谁,角色,操作,对象,编号,用途,详情,")
    lines = text.splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"{story['reveal'].id},2026-03-01 09:30:00,")
    assert "明文查看个人信息,居民,4242,入户走访核实,字段: 电话,resident.reveal" in lines[1]
    assert exports()[0].details == {"format": "csv", "rows": 1, "filters": {"until": "2026-03-01"}}
    formula = signed_in("auditor").get(export_url(purpose="HYPERLINK", format="csv")).content.decode()
    assert ",'=HYPERLINK(1)," in formula


def test_a_personal_value_typed_in_a_filter_is_not_kept_in_the_log(signed_in, db):
    response = signed_in("auditor").get(export_url(purpose="13912345678", action="resident.lookup"))
    assert response.status_code == 200
    [entry] = exports()
    assert entry.details["filters"] == {"action": "resident.lookup"}
    assert "13912345678" not in str(entry.details)


def test_an_export_with_a_bad_filter_or_too_many_entries_shows_the_page(signed_in, story, monkeypatch):
    client = signed_in("auditor")
    response = client.get(export_url(until="2026-02-30"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Correct the filters below, then export again." in html and "Enter a date" in html
    monkeypatch.setitem(services.EXPORT_LIMITS, "xlsx", 1)
    monkeypatch.setitem(services.EXPORT_LIMITS, "csv", 1)
    response = client.get(export_url(since="2026-03-01", until="2026-03-03"))
    assert response.status_code == 400
    assert "3 entries match, but a spreadsheet holds at most 1" in response.content.decode()
    response = client.get(export_url(since="2026-03-01", until="2026-03-03", format="csv"))
    assert "3 entries match, but an export holds at most 1" in response.content.decode()
    response = client.get(export_url(format="pdf"))
    assert response.status_code == 400
    assert "Export as a spreadsheet or as plain text." in response.content.decode()
    assert exports() == []


# --- in Chinese ------------------------------------------------------------------------------------


# An English word: two letters or more, one of them lower-case (acronyms such as "API" pass).
ENGLISH = re.compile(r"[A-Za-z]*[a-z][A-Za-z]*")


def english_words(text: str) -> list[str]:
    return [word for word in ENGLISH.findall(text) if len(word) >= 2]


def main_text(html: str) -> str:
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<[^>]+>", " ", main.split(">", 1)[1])
    return re.sub(r"\s+", " ", main)


def test_the_page_in_chinese_has_no_english(signed_in, story):
    client = signed_in("auditor", language="zh-hans")
    html = client.get(log_url()).content.decode()
    assert "审计日志" in html
    text = main_text(html)
    assert english_words(text) == [], text
    AuditEntry.objects.filter(pk=story["resolve"].id).update(subject_id="78")
    client.post(reverse("audit:verify"))
    text = main_text(client.get(log_url(since="yesterday")).content.decode())
    assert "审计链在第" in text and "请按“年-月-日”填写日期" in text
    assert english_words(text) == [], text
