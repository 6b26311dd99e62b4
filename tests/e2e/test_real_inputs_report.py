"""The night's report of the hand-made night (fixture ``real_inputs``), opened in a real
headless browser: Debian's Chromium (``/usr/bin/chromium``, installed by ``make test``) driven by
Playwright. Every chart renders a non-empty SVG, nothing is logged to the console as an
error, no request leaves the machine (anything but file:/data:/blob: is aborted and counted),
and a screenshot is saved under the test's temporary folder.

Reads no landing file of its own: it looks at what the one night over
``tests/e2e/real_inputs/landing`` wrote (its tenants, the rejected rows of
``orders/ingest-quote.csv``, the held rows of ``tUNK``, the hidden file
``customers/.~lock.ingest.csv#``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("customer-status"))

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
LOCAL = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def report_path(real_inputs) -> Path:
    zone, run = real_inputs
    assert run.code == 0, run.output[-4000:]
    shown = re.search(r"report: (\S+report\.html)", run.output)
    assert shown, "the night's output says where its report is"
    proc = subprocess.run(
        [CLI, "report", "--warehouse", str(zone.warehouse)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == shown.group(1)
    return Path(shown.group(1))


def test_the_night_prints_a_short_summary(real_inputs):
    _, run = real_inputs
    assert "dbt | " not in run.output, "dbt's node lines only with -v"
    assert "Deprecat" not in run.output and "deprecat" not in run.output
    for stage in ("ingest", "validate_imports", "build", "audit", "publish"):
        assert re.search(rf"^  {stage}\s+\d+\.\ds$", run.output, re.M), stage
    assert "published 2026-03-31" in run.output


def test_the_report_page_holds_what_changed_and_the_checks(report_path):
    page = report_path.read_text(encoding="utf-8")
    assert '<span class="badge published">published</span>' in page
    for tenant in ("base", "held", "merge", "epoch"):
        assert f'id="tenant-{tenant}"' in page
    assert "swallowed by the unclosed quote" in page  # rejected rows by source and reason
    assert "<td>tUNK</td>" in page  # held rows of an undeclared tenant
    assert "customers/.~lock.ingest.csv#" in page  # the skipped (hidden) file
    assert "PASS" in page and "rows_reconcile" in page and "billable_swing_within_limit" in page
    assert "merged into m-b" in page  # a status change of tenant merge, by reason
    for stage in ("ingest", "validate_imports", "build", "audit", "publish"):
        assert f"<td>{stage}</td>" in page


def test_every_chart_renders_in_a_real_browser_without_network(report_path, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install the distribution's chromium "
            "(apt-get install -y chromium; make test does)"
        )
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    outside: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(LOCAL):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", route)
            page.goto(report_path.as_uri())
            charts = page.locator(".chart").count()
            page.wait_for_function(
                "n => document.querySelectorAll('.chart svg.main-svg').length >= n",
                arg=charts,
                timeout=60_000,
            )
            drawn = page.evaluate(
                """() => Array.from(document.querySelectorAll('.chart')).map(c => [
                    c.dataset.chart,
                    c.querySelectorAll('svg.main-svg path, svg.main-svg rect').length,
                    c.getBoundingClientRect().height])"""
            )
            page.locator("#tenant-merge").scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        finally:
            browser.close()
    tenants = report_path.read_text(encoding="utf-8").count('<h2 id="tenant-')
    assert charts == 1 + 2 * tenants  # stage timings, and per tenant the mix and billable
    names = [name for name, _, _ in drawn]
    assert "stage timings" in names and "status mix merge" in names and "billable merge" in names
    empty = [
        (name, shapes, height) for name, shapes, height in drawn if shapes == 0 or height < 100
    ]
    assert not empty, f"charts that drew nothing: {empty}"
    assert errors == [], errors
    assert outside == [], f"requests leaving the machine: {outside}"
    assert (tmp_path / "report.png").stat().st_size > 10_000


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120)


def test_explain_and_billing_read_the_real_published_warehouse(real_inputs, tmp_path):
    """On the tables the night published: h-4 of tenant held was suspended by staff:ann on
    2026-03-10 ('card stolen', status_actions/held.csv); the billing file of March."""
    zone, run = real_inputs
    assert run.code == 0, run.output[-4000:]
    wh = ["--warehouse", str(zone.warehouse)]
    explained = _cli("explain", "--tenant", "held", "--customer", "h-4", *wh)
    assert explained.returncode == 0, explained.stderr
    assert (
        "2026-03-10  account_status   active -> suspended  'card stolen'  by staff:ann  (ui)"
        in (explained.stdout)
    )
    assert (
        "status           suspended: rules §2: the account status (suspended)" in explained.stdout
    )
    unknown = _cli("explain", "--tenant", "held", "--customer", "H-4", *wh)
    assert unknown.returncode == 2 and "unknown customer 'H-4'" in unknown.stderr
    out = tmp_path / "held-2026-03.xlsx"
    billed = _cli("billing", "--tenant", "held", "--month", "2026-03", "--out", str(out), *wh)
    assert billed.returncode == 0, billed.stderr
    from openpyxl import load_workbook

    figures = {
        row[2]: row[3]
        for row in load_workbook(out)["figures"].iter_rows(min_row=2, values_only=True)
    }
    assert (
        figures["month_end_billable"]
        == zone.published(
            "select month_end_billable from marts.billing_monthly "
            "where tenant_id = 'held' and month = date '2026-03-01'"
        )[0][0]
    )
