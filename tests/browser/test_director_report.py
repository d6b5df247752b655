"""The director's report (issue 13 §3) in a real browser: an administrator opens it from the console's
navigation, the weekly chart draws as one described image with a bar per week, its table has the same
weeks, the clinic's figures show, and axe finds nothing serious; other roles have no such page."""
from __future__ import annotations

from playwright.sync_api import expect

from support.accessibility import assert_accessible


def test_an_admin_sees_the_chart_its_table_and_the_figures(stack, page, console):
    admin = stack.staff_token("admin", "Dana Director", "dana.director@clinic.example")
    console(page, admin)
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Director's report")).to_be_visible()
    chart = page.get_by_role("img", name="Bar chart of weekly utilisation, 4 weeks; the table below it has the same numbers.")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    expect(chart.locator(".series rect, .series path").first).to_be_attached()
    weeks = page.locator("#weekly-table tbody tr")
    expect(weeks).to_have_count(4)  # the default: the last four full weeks
    expect(page.locator("#weekly-table caption")).to_have_text("Weekly utilisation: the chart's numbers")
    for key in ("utilisation", "no_show_rate", "late_cancel_rate", "series_completion_rate",
                "median_days_consultation_to_first_dose"):
        expect(page.locator(f"[data-figure='{key}'] dt")).to_be_visible()
    # The demo clinic's clinicians have working hours: each row shows available hours.
    expect(page.locator("#clinicians-table tbody tr[data-subject]").first).to_be_visible()
    expect(page.locator("#clinicians-table tr[data-subject='clinic'] th")).to_have_text("Whole clinic")
    page.get_by_label("From").fill("2026-01-05")
    page.get_by_label("Until").fill("2026-01-18")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#weekly-table tbody tr")).to_have_count(2)
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute(
        "href", f"/staff/reports/director.csv?from=2026-01-05&until=2026-01-18&tz={page.get_by_label('Time zone').input_value()}")
    assert_accessible(page)


def test_the_report_is_not_in_a_front_desk_console(stack, page, console):
    desk = stack.staff_token("front_desk", "Dee Desk", "dee.desk.report@clinic.example")
    console(page, desk)
    expect(page.get_by_role("link", name="Calendar")).to_be_visible()
    expect(page.get_by_role("link", name="Reports")).to_have_count(0)
    page.goto(f"{stack.base}/staff/reports/director")
    expect(page.get_by_role("heading", name="Not available to your role")).to_be_visible()
