"""docs/onboarding.md walked through as an administrator would, in Chinese at 1366×768, on the GCJ-02
survey of 桂花苑社区: import the places (check, then import), propose grids and accept them, make the
flats, check a device list, and read the readiness page — each page answers, shows what it should,
axe-core finds nothing serious, and a screenshot is saved.

The screenshots go to the test's folder, or to ``BANYAN_SCREENSHOTS`` when it is set:
``make screenshots`` writes them to ``docs/images/onboarding/``, which docs/onboarding.md shows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from banyan.tests_browser.support import Axe, assert_clean, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SURVEY = Path(__file__).resolve().parents[1] / "places" / "tests" / "data" / "guihuayuan-gcj02.geojson"


@pytest.fixture
def folder(tmp_path) -> Path:
    chosen = os.environ.get("BANYAN_SCREENSHOTS")
    path = Path(chosen) if chosen else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_onboarding_a_surveyed_community(browser, community, folder, tmp_path):
    from banyan.places.models import Building, Region, Unit
    from banyan.sensing.models import Device

    base_url = community
    axe = Axe()
    console_errors: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "admin")

    # 2. Check, then import: the survey is in GCJ-02, as an Amap picker gives it.
    page.goto(f"{base_url}/places/import/")
    page.select_option("#id_community", "+new")
    page.fill("#id_code", "GHY")
    page.fill("#id_name", "桂花苑社区")
    page.set_input_files("#id_file", str(SURVEY))
    page.check("input[name=crs][value=gcj02]")
    page.click("button[name=action][value=check]")
    page.wait_for_selector("form.import-confirm")
    text = page.locator("main").inner_text()
    assert "微型消防站" in text  # the island the check reports, named as residents say it
    assert not Region.objects.filter(code="GHY").exists()  # a check writes nothing
    axe.check(page, "places import: checked")
    page.screenshot(path=str(folder / "places-import.png"), full_page=True)
    page.click("form.import-confirm button[type=submit]")
    page.wait_for_load_state()
    ghy = Region.objects.get(code="GHY")
    assert Building.objects.filter(grid__parent=ghy).count() == 4

    # 3. Grids: a proposal of two buildings a grid, accepted.
    page.goto(f"{base_url}/places/GHY/grids/")
    page.fill("#id_target", "2")
    page.select_option("#id_measure", "buildings")
    page.click("form.propose-form button[type=submit]")
    page.wait_for_selector("[data-accept-proposal]")
    axe.check(page, "grid editor: a proposal")
    page.screenshot(path=str(folder / "grid-editor.png"))
    page.click("[data-accept-proposal]")
    page.wait_for_load_state()
    assert Region.objects.filter(parent=ghy, kind="grid").count() == 2

    # 5. Flats: two a floor in every entrance of every building, 89 m² until the register says better.
    page.goto(f"{base_url}/people/units/import/?community=GHY")
    page.select_option("form[action$='/units/generate/'] select[name=community]", "GHY")
    page.fill("form[action$='/units/generate/'] input[name=flats_per_floor]", "2")
    page.fill("form[action$='/units/generate/'] input[name=area_m2]", "89")
    page.click("form[action$='/units/generate/'] button[type=submit]")
    page.wait_for_load_state()
    one = Building.objects.get(grid__parent=ghy, name="1幢")
    assert Unit.objects.filter(building=one).count() == 2 * 6 * 2  # entrances × floors × flats a floor
    axe.check(page, "flats: made")
    page.screenshot(path=str(folder / "units-import.png"), full_page=True)

    # 6. Devices: the installer's sheet checked (nothing written yet).
    sheet = tmp_path / "devices.csv"
    sheet.write_text(
        "编号,类型,楼栋,安装日期\nGHY-SMOKE-1,smoke,1幢,2026-12-01\nGHY-SMOKE-2,smoke,9幢,2026-12-01\n"
    )
    page.goto(f"{base_url}/devices/")
    page.select_option("form.device-form select[name=community]", "GHY")
    page.set_input_files("form.device-form input[type=file]", str(sheet))
    page.click("form.device-form button[type=submit]")
    page.wait_for_load_state()
    assert "9幢" in page.locator("main").inner_text()  # the row whose building does not exist
    assert not Device.objects.filter(code__startswith="GHY-").exists()
    axe.check(page, "devices: checked")
    page.screenshot(path=str(folder / "devices-import.png"), full_page=True)

    # 8. Readiness: what is still missing, each with where to fix it.
    page.goto(f"{base_url}/readiness/?community=GHY")
    text = page.locator("main").inner_text()
    # Grids without a worker, and the 106 flats just made, empty until the residents' ledger comes.
    assert "没有网格员的网格：2" in text and "没有住户的住宅：106" in text and "3幢1单元101" in text
    axe.check(page, "readiness")
    page.screenshot(path=str(folder / "readiness.png"), full_page=True)

    context.close()
    assert_clean(axe, console_errors, tmp_path)
