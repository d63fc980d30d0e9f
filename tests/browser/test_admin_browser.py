"""The audit admin in a real browser: log in, filter, read a diff, an object's history, export.

Run with ``PGAUDIT_SCREENSHOTS=1`` to refresh the screenshots in docs/img/ (docs/admin.md).
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

import pgaudit_django
from pgaudit_django.models import AuditLog, DataExport
from tests.admin.conftest import make_user
from tests.conftest import dsn
from tests.testapp.models import Customer, Invoice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-pw"


def demo_data() -> dict[str, Any]:
    """Customers and invoices edited by two people, a bulk update, a raw SQL update."""
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    alice = make_user("alice")
    bob = make_user("bob")
    with pgaudit_django.context(user=alice, reason="onboarding"):
        ada = Customer.objects.create(
            name="Ada Lovelace", email="ada@example.com", iban="DE89370400440532013000"
        )
        grace = Customer.objects.create(name="Grace Hopper", email="grace@example.com")
        kath = Customer.objects.create(name="Katherine Johnson", email="kj@example.com")
        invoices = [
            Invoice.objects.create(
                customer=customer, number=f"INV-2026-{n:03d}", amount=Decimal(120 * n)
            )
            for n, customer in enumerate([ada, ada, ada, grace, grace, kath], start=1)
        ]
    with pgaudit_django.context(user=bob):
        ada.email = "ada@analytical-engine.org"
        ada.iban = "FR1420041010050500013M02606"
        ada.save()
        Invoice.objects.filter(customer=ada).update(paid=True)  # one statement, three rows
    web = Client(
        REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux) Firefox/128.0"
    )
    web.force_login(bob)
    web.get(f"/customers/{kath.pk}/rename/", {"name": "Katherine G. Johnson"})
    # Someone in psql, outside Django altogether: raw SQL, no application context.
    outside_django(
        "UPDATE testapp_invoice SET amount = amount * 1.1 WHERE customer_id = %s", [grace.pk]
    )
    with pgaudit_django.context(user=bob, reason="duplicate invoice"):
        invoices[2].delete()
    return {"root": root, "ada": ada, "grace": grace, "kath": kath, "invoices": invoices}


def outside_django(sql: str, params: list[Any]) -> None:
    """Run one statement on a connection Django knows nothing about (psycopg 3, or psycopg2
    when the suite runs with PGAUDIT_TEST_DRIVER=psycopg2, which hides psycopg 3)."""
    try:
        import psycopg
    except ImportError:
        import psycopg2

        conn = psycopg2.connect(dsn() + " application_name=psql")
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
        conn.close()
        return
    with psycopg.connect(dsn(), autocommit=True, application_name="psql") as conn:
        conn.execute(sql, params)


def wait_for(browser: Any, css: str, timeout: float = 10) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def login(browser: Any, live_server: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.ID, "id_username").send_keys("root")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(browser, "#content-main .app-pgaudit")
    assert "Audit log" in browser.page_source
    # Fold the admin's navigation sidebar (remembered by the admin's own script): the pages
    # get the whole width of the 1280-pixel window.
    browser.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")


def test_login_open_the_audit_log_and_filter_by_model(browser, live_server, screenshot):
    from selenium.webdriver.common.by import By

    demo_data()
    login(browser, live_server)
    browser.find_element(By.LINK_TEXT, "Audit log").click()
    wait_for(browser, "#result_list")
    browser.find_element(By.CSS_SELECTOR, "#changelist-filter").find_element(
        By.PARTIAL_LINK_TEXT, "Invoices (testapp)"
    ).click()
    wait_for(browser, "#changelist-filter li.selected a[href*='model=']")
    assert "model=" in browser.current_url
    kinds = {
        e.text for e in browser.find_elements(By.CSS_SELECTOR, "td.field-object .pgaudit-kind")
    }
    assert kinds == {"invoice"}
    page = browser.page_source
    assert "paid: false → true" in page and "DELETE" in page and "SQL session" in page
    screenshot("admin-changelist-filtered.png")


def test_open_a_diff(browser, live_server, screenshot):
    from selenium.webdriver.common.by import By

    data = demo_data()
    login(browser, live_server)
    update = AuditLog.objects.get(
        action="UPDATE", object_id=str(data["ada"].pk), content_type__model="customer"
    )
    browser.get(f"{live_server.url}/admin/pgaudit/auditlog/?model={update.content_type_id}")
    browser.find_element(
        By.CSS_SELECTOR, f"a[href^='/admin/pgaudit/auditlog/{update.pk}/change/']"
    ).click()
    table = wait_for(browser, "table.pgaudit-diff")
    text = table.text
    assert "ada@example.com" in text and "ada@analytical-engine.org" in text
    assert len(table.find_elements(By.CSS_SELECTOR, ".pgaudit-masked")) == 2
    assert "DE89" not in browser.page_source
    screenshot("admin-diff.png")


def test_open_an_objects_audit_history(browser, live_server, screenshot):
    from selenium.webdriver.common.by import By

    data = demo_data()
    login(browser, live_server)
    browser.get(f"{live_server.url}/admin/testapp/customer/{data['ada'].pk}/change/")
    button = browser.find_element(By.CSS_SELECTOR, ".object-tools a.pgaudit-history-link")
    assert button.text.lower() == "audit history"
    button.click()
    wait_for(browser, "table.pgaudit-history-table")
    assert browser.current_url.endswith(f"/customer/{data['ada'].pk}/audit-history/")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.pgaudit-history-table > tbody > tr")
    actions = [r.find_element(By.CSS_SELECTOR, ".pgaudit-action").text for r in rows]
    assert "DELETE" in actions and "UPDATE" in actions and "CREATE" in actions
    assert "INV-2026-003" in browser.page_source  # the deleted invoice, a child row
    screenshot("admin-object-history.png")


def test_run_the_export(browser, live_server, screenshot, browser_downloads: Path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    demo_data()
    login(browser, live_server)
    browser.get(f"{live_server.url}/admin/pgaudit/auditlog/?action=UPDATE")
    wait_for(browser, "#result_list")
    boxes = browser.find_elements(By.CSS_SELECTOR, "input.action-select")[:4]
    for box in boxes:
        box.click()
    Select(browser.find_element(By.CSS_SELECTOR, "select[name=action]")).select_by_value(
        "export_csv"
    )
    assert "4 of" in browser.find_element(By.CSS_SELECTOR, ".action-counter").text
    screenshot("admin-export.png")
    before = set(browser_downloads.glob("*.csv"))
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()

    deadline = time.monotonic() + 15
    new: set[Path] = set()
    while time.monotonic() < deadline and not new:
        new = {p for p in browser_downloads.glob("*.csv") if p not in before}
        time.sleep(0.2)
    assert new, "the CSV was not downloaded"
    lines = next(iter(new)).read_text().splitlines()
    assert lines[0].startswith("id,timestamp,action,model,object_id")
    assert len(lines) == 5

    export = DataExport.objects.get()
    assert (export.file_format, export.record_count, export.username) == ("CSV", 4, "root")
    browser.get(f"{live_server.url}/admin/pgaudit/dataexport/")
    assert "Audit log (admin)" in wait_for(browser, "#result_list").text
