from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vibe.common.errors import StorageError
from vibe.trading_bot.notifications.outbox import Outbox

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


def test_rows_are_pending_in_order_until_marked_and_survive_reopening(tmp_path):
    path = tmp_path / "notifications.db"
    outbox = Outbox(path)
    ids = outbox.add("system", [{"content": "a"}, {"content": "b"}], T0)
    ids += outbox.add("order_sent", [{"embeds": [{"title": "c"}]}], T0)
    assert ids == sorted(ids) and len(set(ids)) == 3
    outbox.mark_sent(ids[0], T0, attempts=1)
    outbox.mark_failed(ids[1], T0, attempts=1, error="HTTP 400, Discord code 50035")
    outbox.close()

    reopened = Outbox(path)
    pending = reopened.pending()
    assert [(e.id, e.kind, e.body) for e in pending] == [
        (ids[2], "order_sent", {"embeds": [{"title": "c"}]})
    ]
    assert pending[0].created_at == T0
    assert (reopened.count("pending"), reopened.count("sent"), reopened.count("failed")) == (
        1,
        1,
        1,
    )
    assert reopened.pending(after_id=ids[2]) == []
    assert reopened.db.integrity_check() == "ok"
    reopened.close()


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    path = tmp_path / "notifications.db"
    path.write_bytes(b"garbage" * 200)
    with pytest.raises(StorageError, match=r"notifications\.db"):
        Outbox(path)
