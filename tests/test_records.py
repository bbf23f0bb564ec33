"""The unified record's ids."""

from __future__ import annotations

import uuid

from bagel.records import make_id


def test_make_id_is_uuid5_of_the_key_text():
    keys = ["", "q1", "héllo wörld", "日本語", "a\nb\x00c", "x" * 10_000, "😀:3"]
    assert [make_id(k) for k in keys] == [str(uuid.uuid5(uuid.NAMESPACE_OID, k)) for k in keys]
