"""The SceneRepository contract, run against every backend (the `repo` fixture is parametrized)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from config.settings import Settings
from core.scenes import source_hash
from proxy.db import Compilation, SceneRepository
from tests.proxy.db import raw

CODE = "export default function Scene() { return <div>hi</div>; }"
NEW_CODE = "export default function Scene() { return <div>bye</div>; }"
OK = Compilation(hash="a1b2c3d4e5f60718", url="/components/a1b2c3d4e5f60718.js", error=None)
OK2 = Compilation(hash="ffffeeeeddddcccc", url="/components/ffffeeeeddddcccc.js", error=None)
FAILED = Compilation(hash=None, url=None, error="Scene.tsx:1:10: Unexpected token")
TABLE = "bazaar-vid_scene"


async def test_create_returns_the_scene_with_no_compilation_yet(repo: SceneRepository) -> None:
    sid, project = uuid.uuid4(), uuid.uuid4()
    before = datetime.now(UTC) - timedelta(seconds=5)

    scene = await repo.create(sid, CODE, "Intro", project)

    assert scene.id == sid and type(scene.id) is uuid.UUID
    assert (scene.tsx_code, scene.name, scene.project_id) == (CODE, "Intro", project)
    assert type(scene.project_id) is uuid.UUID
    assert scene.updated_at is not None and scene.updated_at.tzinfo is not None
    assert before <= scene.updated_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert (scene.compiled_hash, scene.compiled_url, scene.compiled_at, scene.compilation_error) == (
        None, None, None, None,
    )
    assert await repo.get(sid) == scene


async def test_create_without_a_name_takes_the_products_default_and_goes_last_in_its_project(
    repo: SceneRepository,
) -> None:
    project = uuid.uuid4()
    first, second = uuid.uuid4(), uuid.uuid4()
    await repo.create(first, CODE, None, project)
    await repo.create(second, CODE, "Outro", project)
    got = await repo.get(first)
    assert got is not None and (got.name, got.order, got.duration) == ("Scene", 0, 150)
    assert got.created_at is not None and got.updated_at is not None
    assert [(s.id, s.order) for s in await repo.list_project(project, 10)] == [(first, 0), (second, 1)]


async def test_create_with_an_existing_id_raises_key_error(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    await repo.create(sid, CODE, "first", uuid.uuid4())
    with pytest.raises(KeyError):
        await repo.create(sid, NEW_CODE, "second", uuid.uuid4())
    got = await repo.get(sid)
    assert got is not None and (got.tsx_code, got.name) == (CODE, "first")


async def test_code_round_trips_unicode_and_large_sources_exactly(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    code = "const s = 'héllo 🌍 \\n \"quoted\" \t';\n" + "// padding\n" * 40_000
    await repo.create(sid, code, "名前", uuid.uuid4())
    got = await repo.get(sid)
    assert got is not None and got.tsx_code == code and got.name == "名前"


async def test_unknown_ids_give_none_or_false(repo: SceneRepository) -> None:
    missing = uuid.uuid4()
    assert await repo.get(missing) is None
    assert await repo.update_code(missing, CODE) is None
    assert await repo.record_compilation(missing, CODE, OK) is False
    assert await repo.record_compilation(missing, CODE, FAILED) is False


async def test_update_code_replaces_code_and_keeps_compilation_columns(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    created = await repo.create(sid, CODE, "Intro", uuid.uuid4())
    assert await repo.record_compilation(sid, CODE, OK)
    compiled = await repo.get(sid)
    assert compiled is not None
    await asyncio.sleep(0.01)

    updated = await repo.update_code(sid, NEW_CODE)

    assert updated is not None
    assert updated.tsx_code == NEW_CODE and updated.name == "Intro"
    assert created.updated_at is not None and updated.updated_at is not None
    assert updated.updated_at > created.updated_at
    assert (updated.compiled_hash, updated.compiled_url, updated.compiled_at) == (
        compiled.compiled_hash, compiled.compiled_url, compiled.compiled_at,
    )
    assert await repo.get(sid) == updated


async def test_an_edit_clears_the_recorded_error_and_keeps_the_last_good_artifact(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    await repo.create(sid, CODE, "Intro", uuid.uuid4())
    assert await repo.record_compilation(sid, CODE, OK)
    assert await repo.record_compilation(sid, CODE, FAILED)
    failed = await repo.get(sid)
    assert failed is not None and failed.compilation_error == FAILED.error

    updated = await repo.update_code(sid, NEW_CODE)

    assert updated is not None and updated.compilation_error is None  # the error was the old code's
    assert (updated.compiled_hash, updated.compiled_url) == (OK.hash, OK.url)
    assert await repo.get(sid) == updated


async def test_update_code_changes_the_name_only_when_given(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    await repo.create(sid, CODE, "Intro", uuid.uuid4())
    renamed = await repo.update_code(sid, NEW_CODE, name="Outro")
    assert renamed is not None and renamed.name == "Outro"
    kept = await repo.update_code(sid, CODE)
    assert kept is not None and kept.name == "Outro"


async def test_record_success_sets_the_artifact_and_clears_the_error(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    await repo.create(sid, CODE, None, uuid.uuid4())
    assert await repo.record_compilation(sid, CODE, FAILED)

    assert await repo.record_compilation(sid, CODE, OK) is True

    got = await repo.get(sid)
    assert got is not None
    assert (got.compiled_hash, got.compiled_url, got.compilation_error) == (OK.hash, OK.url, None)
    assert got.compiled_at is not None and got.compiled_at.tzinfo is not None
    assert abs(got.compiled_at - datetime.now(UTC)) < timedelta(seconds=30)


async def test_record_failure_keeps_the_last_good_artifact(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    await repo.create(sid, CODE, None, uuid.uuid4())
    await repo.record_compilation(sid, CODE, OK)
    good = await repo.get(sid)
    await repo.update_code(sid, NEW_CODE)

    assert await repo.record_compilation(sid, NEW_CODE, FAILED) is True

    got = await repo.get(sid)
    assert got is not None and good is not None
    assert got.compilation_error == FAILED.error
    assert (got.compiled_hash, got.compiled_url, got.compiled_at) == (
        good.compiled_hash, good.compiled_url, good.compiled_at,
    )


async def test_record_failure_without_a_message_still_marks_an_error(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    await repo.create(sid, CODE, None, uuid.uuid4())
    assert await repo.record_compilation(sid, CODE, Compilation(hash=None, url=None, error=None))
    got = await repo.get(sid)
    assert got is not None and got.compilation_error and got.compiled_hash is None


async def test_record_refuses_a_compilation_of_stale_code(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    await repo.create(sid, CODE, None, uuid.uuid4())
    await repo.update_code(sid, NEW_CODE)  # a newer edit landed while CODE was compiling

    assert await repo.record_compilation(sid, CODE, OK) is False
    assert await repo.record_compilation(sid, CODE, FAILED) is False

    got = await repo.get(sid)
    assert got is not None
    assert (got.tsx_code, got.compiled_hash, got.compilation_error) == (NEW_CODE, None, None)


async def test_record_rejects_a_hash_longer_than_the_column(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    await repo.create(sid, CODE, None, uuid.uuid4())
    with pytest.raises(ValueError, match="longer"):
        await repo.record_compilation(sid, CODE, Compilation(hash="x" * 17, url="/u", error=None))


async def test_list_after_pages_through_250_rows_in_id_order_without_duplicates(
    repo: SceneRepository,
) -> None:
    ids = [uuid.uuid4() for _ in range(250)]
    for sid in ids:
        await repo.create(sid, CODE, None, uuid.uuid4())

    seen: list[uuid.UUID] = []
    after: uuid.UUID | None = None
    pages = 0
    while True:
        page = await repo.list_after(after, 64)
        if not page:
            break
        pages += 1
        assert len(page) <= 64
        seen.extend(s.id for s in page)
        after = page[-1].id

    assert pages == 4
    assert seen == sorted(ids)  # uuid order (== PostgreSQL uuid order), every row exactly once
    assert await repo.list_after(max(ids), 10) == []
    assert await repo.list_after(None, 0) == []


async def test_list_after_rejects_a_negative_limit(repo: SceneRepository) -> None:
    with pytest.raises(ValueError):
        await repo.list_after(None, -1)


async def test_list_project_returns_only_that_projects_scenes_in_creation_order(repo: SceneRepository) -> None:
    project, other = uuid.uuid4(), uuid.uuid4()
    mine = [uuid.uuid4() for _ in range(7)]
    for sid in mine:
        await repo.create(sid, CODE, None, project)
    for _ in range(3):
        await repo.create(uuid.uuid4(), CODE, None, other)
    await repo.create(uuid.uuid4(), CODE, None, uuid.uuid4())
    await repo.record_compilation(mine[0], CODE, OK)

    scenes = await repo.list_project(project, 100)

    assert [s.id for s in scenes] == mine  # each appended last, alike on both backends
    assert all(s.project_id == project and type(s.project_id) is uuid.UUID for s in scenes)
    assert scenes[0] == await repo.get(mine[0])  # full rows, compilation included
    assert len(await repo.list_project(other, 100)) == 3


async def test_project_heads_carry_the_database_computed_source_hash_and_no_source(
    repo: SceneRepository, db_settings: Settings,
) -> None:
    project = uuid.uuid4()
    codes = [CODE, "const s = 'héllo 🌍 \\n \\u2028 \"q\"\t';\r\nexport default () => null;\n",
             "// 64 KB\n" + "x" * 65_536, "名前 = ' \\x00 ' // escapes stay text"]
    ids = [uuid.uuid4() for _ in codes]
    for sid, code in zip(ids, codes, strict=True):
        await repo.create(sid, code, None, project)
    await repo.record_compilation(ids[0], CODE, OK)
    gone = uuid.uuid4()
    await repo.create(gone, CODE, None, project)
    await raw.execute(db_settings, f"UPDATE \"{TABLE}\" SET deleted_at = {raw.now_sql(db_settings)} "
                                   f"WHERE id = '{gone}'")
    fingerprint = "esbuild@0.25 options@abc runtime@é"

    heads = await repo.project_heads(project, 100, fingerprint)

    full = await repo.list_project(project, 100)
    assert [h.id for h in heads] == [s.id for s in full] == ids  # same rows, same order, no deleted one
    assert [h.code_hash for h in heads] == [source_hash(fingerprint, code) for code in codes]
    assert heads[1].code_hash != source_hash("another fingerprint", codes[1])
    assert not hasattr(heads[0], "tsx_code")
    assert (heads[0].compiled_hash, heads[0].compiled_url, heads[0].compilation_error) == (OK.hash, OK.url, None)
    assert [(h.name, h.order, h.duration, h.updated_at) for h in heads] == [
        (s.name, s.order, s.duration, s.updated_at) for s in full]
    assert len(await repo.project_heads(project, 2, fingerprint)) == 2


async def test_list_project_follows_the_products_order_then_creation_time(
    repo: SceneRepository, db_settings: Settings,
) -> None:
    project = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(4)]
    for sid in ids:
        await repo.create(sid, CODE, None, project)
    # the product reorders: the last scene moves first; two scenes share a position (creation breaks the tie)
    for sid, order in zip(ids, (1, 2, 2, 0), strict=True):
        await raw.execute(db_settings, f'UPDATE "{TABLE}" SET "order" = {order} WHERE id = \'{sid}\'')

    assert [s.id for s in await repo.list_project(project, 10)] == [ids[3], ids[0], ids[1], ids[2]]
    assert [s.id for s in await repo.list_project(project, 2)] == [ids[3], ids[0]]
    assert await repo.list_project(project, 0) == []
    with pytest.raises(ValueError):
        await repo.list_project(project, -1)


async def test_a_soft_deleted_scene_is_gone_from_every_read(repo: SceneRepository, db_settings: Settings) -> None:
    project = uuid.uuid4()
    kept, gone = uuid.uuid4(), uuid.uuid4()
    for sid in (kept, gone):
        await repo.create(sid, CODE, None, project)
        await repo.record_compilation(sid, CODE, OK)
    await raw.execute(db_settings, f"UPDATE \"{TABLE}\" SET deleted_at = {raw.now_sql(db_settings)} "
                                   f"WHERE id = '{gone}'")

    assert await repo.get(gone) is None
    assert await repo.get(kept) is not None
    assert [s.id for s in await repo.list_project(project, 10)] == [kept]
    assert [s.id for s in await repo.list_after(None, 10)] == [kept]
    assert await repo.count() == 1
    assert await repo.update_code(gone, NEW_CODE) is None  # an edit cannot resurrect it
    await raw.execute(db_settings, f"UPDATE \"{TABLE}\" SET deleted_at = {raw.now_sql(db_settings)} "
                                   f"WHERE id = '{kept}'")
    assert await repo.find_code_by_hash(OK.hash or "") is None


async def test_an_edit_bumps_the_revision_like_the_products_own_edits(
    repo: SceneRepository, db_settings: Settings,
) -> None:
    sid = uuid.uuid4()
    await repo.create(sid, CODE, None, uuid.uuid4())
    await repo.update_code(sid, NEW_CODE)
    await repo.update_code(sid, CODE)
    rows = await raw.fetch(db_settings, f"SELECT revision FROM \"{TABLE}\" WHERE id = '{sid}'")
    assert rows == [{"revision": 3}]


async def test_changed_since_names_edited_created_and_soft_deleted_scenes_with_their_projects(
    repo: SceneRepository, db_settings: Settings,
) -> None:
    project = uuid.uuid4()
    old, edited, deleted = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for sid in (old, edited, deleted):
        await repo.create(sid, CODE, None, project)
    await asyncio.sleep(0.01)
    since = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await repo.update_code(edited, NEW_CODE)
    await raw.execute(db_settings, f"UPDATE \"{TABLE}\" SET deleted_at = {raw.now_sql(db_settings)} "
                                   f"WHERE id = '{deleted}'")
    new = uuid.uuid4()
    await repo.create(new, CODE, None, uuid.uuid4())

    changes = {c.scene_id: c.project_ids for c in await repo.changed_since(since)}

    assert set(changes) == {edited, deleted, new}
    assert changes[edited] == changes[deleted] == (project,)


async def test_list_project_of_an_unknown_project_is_empty(repo: SceneRepository) -> None:
    await repo.create(uuid.uuid4(), CODE, None, uuid.uuid4())
    await repo.create(uuid.uuid4(), CODE, None, uuid.uuid4())
    assert await repo.list_project(uuid.uuid4(), 10) == []


async def test_count_counts_scenes(repo: SceneRepository) -> None:
    assert await repo.count() == 0
    for _ in range(3):
        await repo.create(uuid.uuid4(), CODE, None, uuid.uuid4())
    assert await repo.count() == 3


async def test_flags_are_unset_then_upserted(repo: SceneRepository) -> None:
    assert await repo.get_flag("new-compiler") is None
    await repo.set_flag("new-compiler", 25)
    assert await repo.get_flag("new-compiler") == 25
    await repo.set_flag("new-compiler", 100)
    await repo.set_flag("other", 0)
    assert await repo.get_flag("new-compiler") == 100
    assert await repo.get_flag("other") == 0


@pytest.mark.parametrize("bad", [-1, 101, 1000])
async def test_set_flag_rejects_percentages_outside_0_to_100(repo: SceneRepository, bad: int) -> None:
    with pytest.raises(ValueError):
        await repo.set_flag("f", bad)
    assert await repo.get_flag("f") is None


async def test_ping_succeeds_on_a_usable_database(repo: SceneRepository) -> None:
    await repo.ping()


async def test_concurrent_record_compilations_all_apply_and_leave_a_consistent_row(
    repo: SceneRepository,
) -> None:
    sid = uuid.uuid4()
    await repo.create(sid, CODE, None, uuid.uuid4())
    results = [Compilation(hash=f"{i:016x}", url=f"/components/{i:016x}.js", error=None) for i in range(20)]

    applied = await asyncio.gather(*(repo.record_compilation(sid, CODE, r) for r in results))

    assert all(applied)
    got = await repo.get(sid)
    assert got is not None
    winner = next(r for r in results if r.hash == got.compiled_hash)
    assert got.compiled_url == winner.url and got.compilation_error is None


async def test_record_racing_an_edit_never_applies_after_the_edit(repo: SceneRepository) -> None:
    """Whatever the interleaving, a compile of the old code cannot land on the new code's row."""
    for i in range(10):
        sid = uuid.uuid4()
        await repo.create(sid, CODE, None, uuid.uuid4())
        stale = Compilation(hash=f"{i:016x}", url="/stale.js", error=None)

        applied, updated = await asyncio.gather(
            repo.record_compilation(sid, CODE, stale), repo.update_code(sid, NEW_CODE)
        )
        assert updated is not None
        after = await repo.get(sid)
        assert after is not None and after.tsx_code == NEW_CODE
        # either it ran first (and the hash is kept as the last good artifact) or it was refused
        assert (after.compiled_hash == stale.hash) == applied
        assert await repo.record_compilation(sid, CODE, OK2) is False


async def test_concurrent_creates_and_reads_across_scenes(repo: SceneRepository) -> None:
    ids = [uuid.uuid4() for _ in range(30)]
    await asyncio.gather(*(repo.create(sid, CODE, None, uuid.uuid4()) for sid in ids))
    await asyncio.gather(*(repo.record_compilation(sid, CODE, OK) for sid in ids))
    got = await asyncio.gather(*(repo.get(sid) for sid in ids))
    assert all(g is not None and g.compiled_hash == OK.hash for g in got)
    assert await repo.count() == 30


async def test_nul_characters_are_rejected_alike_on_every_backend(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    with pytest.raises(ValueError, match="NUL"):
        await repo.create(sid, "a\x00b", None, uuid.uuid4())
    await repo.create(sid, CODE, None, uuid.uuid4())
    with pytest.raises(ValueError, match="NUL"):
        await repo.update_code(sid, "a\x00b")
    assert await repo.record_compilation(sid, CODE, Compilation(hash=None, url=None, error="bad \x00 byte"))
    got = await repo.get(sid)
    assert got is not None and got.tsx_code == CODE and got.compilation_error == "bad \ufffd byte"


async def test_find_code_by_hash_returns_the_code_of_a_current_artifact_only(repo: SceneRepository) -> None:
    sid = uuid.uuid4()
    await repo.create(sid, CODE, None, uuid.uuid4())
    assert await repo.find_code_by_hash(OK.hash or "") is None
    await repo.record_compilation(sid, CODE, OK)
    assert await repo.find_code_by_hash(OK.hash or "") == CODE
    # after a failed edit the row keeps the last good hash, but its code is no longer that hash's code
    await repo.update_code(sid, NEW_CODE)
    await repo.record_compilation(sid, NEW_CODE, FAILED)
    assert await repo.find_code_by_hash(OK.hash or "") is None


async def test_create_with_a_duration_stores_it_and_without_one_the_table_default(repo: SceneRepository) -> None:
    project = uuid.uuid4()
    short, default = uuid.uuid4(), uuid.uuid4()
    await repo.create(short, CODE, "short", project, 30)
    await repo.create(default, CODE, None, project)
    assert [(s.id, s.duration) for s in await repo.list_project(project, 10)] == [(short, 30), (default, 150)]
