"""The base of every audit admin: readable by those allowed, writable by nobody.

Adding, changing and deleting are refused at the permission level, so Django itself rejects the
add/change/delete pages and hand-crafted POSTs to them (``PermissionDenied``) whatever
permissions a user was granted. Audit rows leave the database only through the retention
command (``manage.py pgaudit_retention``), which records what it dropped: never one by one from
a web page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.http import HttpRequest

from pgaudit_django.admin.dates import date_hierarchy_context
from pgaudit_django.admin.paginator import EstimatedCountPaginator


class ReadOnlyAuditAdmin(admin.ModelAdmin):
    paginator = EstimatedCountPaginator
    # The "N total" next to search results is an exact COUNT(*) of the whole table.
    show_full_result_count = False
    list_per_page = 50
    list_max_show_all = 200

    # Facets (Django 5.0+) count every filter choice over the table: one COUNT per choice.
    if hasattr(admin, "ShowFacets"):
        show_facets = admin.ShowFacets.NEVER

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AuditChangeList

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deliberately False even for superusers: see the module docstring.
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class AuditChangeList(ChangeList):
    """Always the index order, and the cheap date drill-down (``dates.py``) for the templates."""

    pgaudit_date_hierarchy: dict[str, Any]

    def get_ordering_field(self, field_name: Any) -> None:
        # ``sortable_by = ()`` only hides the column links; a hand-made ``?o=`` would still sort
        # by an unindexed column (a full sort of the table). Every column is unsortable here.
        return None

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.pgaudit_date_hierarchy = (
            date_hierarchy_context(self) if self.date_hierarchy else {"show": False}
        )
