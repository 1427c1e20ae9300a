"""The NOTIFY of a write made through our API says so (`writer`), on PostgreSQL directly and behind
PgBouncer in transaction mode; the product's own writes carry none. Listeners use it to leave the
edge purge and the compile to the writing node, so a write is purged once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from config.settings import Settings
from core.scenes import SceneChange, SceneRepository
from proxy.db import schema
from proxy.db.listener import parse_notification

CODE = "export default function Scene() { return <div>hi</div>; }"


async def test_our_writes_are_marked_in_the_notification_and_the_products_are_not(
        repo: SceneRepository, db_settings: Settings, db_backend: str) -> None:
    if db_backend == "sqlite":
        pytest.skip("SQLite has no trigger: nothing is echoed, so nothing needs a mark")
    heard: asyncio.Queue[SceneChange] = asyncio.Queue()
    conn = await asyncpg.connect(db_settings.database_direct_url or db_settings.database_url)
    try:
        def notified(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            change = parse_notification(payload)
            assert change is not None
            heard.put_nowait(change)

        await conn.add_listener(schema.notify_channel(db_settings.scene_table), notified)
        sid, project = uuid.uuid4(), uuid.uuid4()

        await repo.create(sid, CODE, None, project)
        created = await asyncio.wait_for(heard.get(), 5)
        await repo.update_code(sid, CODE + "\n// edited")
        edited = await asyncio.wait_for(heard.get(), 5)
        # the product's own edit: a plain UPDATE, no marker
        await conn.execute(f'UPDATE "{db_settings.scene_table}" SET "tsxCode" = $1 WHERE id = $2', CODE, sid)
        products = await asyncio.wait_for(heard.get(), 5)
        await repo.update_code(sid, CODE + "\n// edited again")
        again = await asyncio.wait_for(heard.get(), 5)
    finally:
        await conn.close()

    assert (created.scene_id, created.project_ids) == (sid, (project,))
    assert created.writer and edited.writer and again.writer
    assert len({created.writer, edited.writer, again.writer}) == 3  # one id per write
    assert products.scene_id == sid and products.writer is None


def test_a_notification_without_a_writer_is_the_products() -> None:
    sid = uuid.uuid4()
    assert parse_notification(f'{{"id": "{sid}", "projectId": null}}') == SceneChange(sid, (), None)
    assert parse_notification(f'{{"id": "{sid}", "projectId": null, "writer": ""}}') == SceneChange(sid, (), None)
    assert parse_notification(f'{{"id": "{sid}", "projectId": null, "writer": "ab12"}}') == SceneChange(
        sid, (), "ab12")
