"""The export actions: CSV and JSON Lines of the selected rows, recorded as a DataExport."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib import messages

from pgaudit_django.admin import export
from pgaudit_django.models import AuditLog, DataExport
from pgaudit_django.utils import log_audit_event
from tests.admin.conftest import client_for, content, make_user
from tests.testapp.models import Customer

CHANGELIST = "/admin/pgaudit/auditlog/"


def run_action(client, action: str, ids, query: str = "", **extra):
    return client.post(
        CHANGELIST + query,
        {"action": action, "_selected_action": [str(pk) for pk in ids], **extra},
    )


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def selected(story):
    return list(
        AuditLog.objects.filter(action="UPDATE").order_by("-id").values_list("pk", flat=True)[:3]
    )


def test_csv_export(admin_client_, superuser, selected):
    response = run_action(admin_client_, "export_csv", selected, "?action=UPDATE")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [int(r["id"]) for r in rows] == selected  # newest first, only the selection
    assert tuple(rows[0]) == export.COLUMNS
    assert all(r["action"] == "UPDATE" for r in rows)
    assert json.loads(rows[0]["changes"])  # the diff as JSON text

    record = DataExport.objects.get()
    assert record.file_format == "CSV" and record.record_count == 3
    assert record.user_id == superuser.pk
    assert record.filters["list_filters"] == {"action": "UPDATE"}
    assert sorted(record.filters["selected_ids"]) == sorted(str(pk) for pk in selected)


def test_jsonl_export_keeps_types(admin_client_, selected):
    response = run_action(admin_client_, "export_jsonl", selected)
    lines = body(response).splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert set(first) == set(export.COLUMNS)
    assert isinstance(first["changes"], dict) and isinstance(first["id"], int)
    assert DataExport.objects.get().file_format == "JSONL"


def test_select_all_exports_the_filtered_list(admin_client_, story):
    response = run_action(admin_client_, "export_jsonl", [1], "?action=DELETE", select_across="1")
    rows = [json.loads(line) for line in body(response).splitlines()]
    assert rows and {r["action"] for r in rows} == {"DELETE"}
    assert len(rows) == AuditLog.objects.filter(action="DELETE").count()
    assert DataExport.objects.get().filters["select_across"] is True


def test_spreadsheet_formulas_are_neutralised(admin_client_, db):
    customer = Customer.objects.create(name="=cmd|' /C calc'!A0")
    note = log_audit_event(action="NOTE", content_object=customer, changes={"x": "@SUM(1+1)"})
    rows = list(
        csv.DictReader(io.StringIO(body(run_action(admin_client_, "export_csv", [note.pk]))))
    )
    assert rows[0]["object_repr"] == "'=cmd|' /C calc'!A0"
    jsonl = body(run_action(admin_client_, "export_jsonl", [note.pk]))
    assert json.loads(jsonl)["object_repr"] == "=cmd|' /C calc'!A0"  # JSON is left as it is


def test_too_large_an_export_is_refused_and_not_recorded(admin_client_, selected, monkeypatch):
    monkeypatch.setattr(export, "EXPORT_MAX_ROWS", 2)
    response = run_action(admin_client_, "export_csv", selected)
    assert response.status_code == 302
    followed = admin_client_.get(response["Location"])
    assert any(m.level == messages.ERROR for m in followed.context["messages"])
    assert not DataExport.objects.exists()


def test_viewer_may_export_and_plain_staff_may_not(selected):
    viewer = client_for(make_user("exporter", perms=("pgaudit.view_auditlog",)))
    assert run_action(viewer, "export_csv", selected).status_code == 200
    plain = client_for(make_user("nobody"))
    assert run_action(plain, "export_csv", selected).status_code == 403
    assert DataExport.objects.count() == 1


def test_export_actions_are_offered(admin_client_, story):
    page = content(admin_client_.get(CHANGELIST))
    assert 'value="export_csv"' in page and 'value="export_jsonl"' in page
    assert 'value="delete_selected"' not in page
