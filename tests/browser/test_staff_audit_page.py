"""The admin audit page (issue 14 §1): an administrator finds their own sign-in in the audit log by
filtering on the action, and the CSV export carries the same filter; other roles have no such page."""
from __future__ import annotations

from playwright.sync_api import expect


def test_an_admin_filters_the_audit_log_and_exports_it(stack, page, console):
    admin = stack.staff_token("admin", "Ada Audit", "ada.audit@clinic.example")
    console(page, admin)
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    page.get_by_label("Action").select_option("staff.signed_in")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tr[data-audit-id]")
    expect(rows.first).to_contain_text("staff.signed_in")
    assert set(rows.locator("td:nth-child(3)").all_inner_texts()) == {"staff.signed_in"}
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute("href", "/staff/audit.csv?action=staff.signed_in")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert exported[0] == "id,at,actor,action,target,ip,detail"
    assert len(exported) > 1 and all(",staff.signed_in," in line for line in exported[1:])


def test_the_audit_page_is_not_in_a_front_desk_console(stack, page, console):
    desk = stack.staff_token("front_desk", "Dee Desk", "dee.desk.audit@clinic.example")
    console(page, desk)
    expect(page.get_by_role("link", name="Calendar")).to_be_visible()
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    page.goto(f"{stack.base}/staff/audit")
    expect(page.get_by_role("heading", name="Not available to your role")).to_be_visible()
