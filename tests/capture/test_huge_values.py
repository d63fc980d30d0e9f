"""A value too large to copy is recorded by its size and SHA-256; the write never fails.

jsonb documents stop at 256 MB: updating a text value of about 140 MB (old and new copies in
one audit row) used to make the user's own UPDATE fail. Values over AUDIT_MAX_VALUE_BYTES
(1 MiB by default; baked into the trigger SQL) now stand as
``{"$pgaudit_omitted": true, "bytes": N, "sha256": "…"}``.
"""

from __future__ import annotations

import hashlib

from pgaudit_django.capture.sql import OMITTED_KEY
from tests.testapp.models import Document

BIG = 2 * 1024 * 1024


def _omitted(value: bytes) -> dict[str, object]:
    return {OMITTED_KEY: True, "bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}


def test_huge_text_is_recorded_by_size_and_digest(audit):
    body = "é" * (BIG // 2 + 1)
    doc = Document.objects.create(title="big", body=body)
    doc.body = body + "!"
    doc.save()
    create, update = audit.captured()
    assert create.changes["body"]["new"] == _omitted(body.encode())
    assert update.changes["body"] == {
        "old": _omitted(body.encode()),
        "new": _omitted((body + "!").encode()),
    }
    assert create.changes["title"]["new"] == "big"


def test_huge_binary_and_json_values_are_recorded_by_size_and_digest(audit):
    blob = bytes(range(256)) * (BIG // 256 + 1)
    data = {"items": ["x" * 1000] * (BIG // 1000)}
    Document.objects.create(title="bin", blob=blob, data=data)
    (create,) = audit.captured()
    assert create.changes["blob"]["new"] == _omitted(blob)
    assert create.changes["data"]["new"][OMITTED_KEY] is True
    assert create.changes["data"]["new"]["bytes"] > BIG


def test_values_under_the_limit_are_copied(audit):
    Document.objects.create(title="small", body="x" * 1000, blob=b"\x00\x01", data={"a": [1]})
    (create,) = audit.captured()
    assert create.changes["body"]["new"] == "x" * 1000
    assert create.changes["blob"]["new"] == "\\x0001"
    assert create.changes["data"]["new"] == {"a": [1]}
