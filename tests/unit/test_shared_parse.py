"""dbt's saved parse, shared between work areas (pipeline/build.py, ``_reuse_parse`` and
``_share_parse``): copied only when a build saved a new one, and never left half-written."""

from __future__ import annotations

import os
import shutil
from types import SimpleNamespace

import pytest

from customer_status.pipeline import build


@pytest.fixture
def area(tmp_path, monkeypatch):
    shared = tmp_path / "project" / "target" / "duckdb-partial_parse.msgpack"
    monkeypatch.setattr(build, "shared_parse", lambda paths, engine: shared)
    paths = SimpleNamespace(dbt_target=tmp_path / "area" / "dbt")
    own = paths.dbt_target / "target" / build.SAVED_PARSE
    own.parent.mkdir(parents=True)
    return paths, own, shared


def test_a_new_saved_parse_is_shared_once(area):
    paths, own, shared = area
    own.write_bytes(b"parse one")
    build._share_parse(paths, "duckdb")
    assert shared.read_bytes() == b"parse one"
    copied = shared.stat().st_ino
    build._share_parse(paths, "duckdb")  # the build saved nothing new: nothing is copied
    assert shared.stat().st_ino == copied
    own.write_bytes(b"parse two!")
    build._share_parse(paths, "duckdb")
    assert shared.read_bytes() == b"parse two!" and shared.stat().st_ino != copied


def test_a_work_area_started_from_the_shared_parse_gives_it_back_only_when_changed(area, tmp_path):
    paths, own, shared = area
    shared.parent.mkdir(parents=True)
    shared.write_bytes(b"parse one")
    other = SimpleNamespace(dbt_target=tmp_path / "other" / "dbt")
    build._reuse_parse(other, "duckdb")
    assert (other.dbt_target / "target" / build.SAVED_PARSE).read_bytes() == b"parse one"
    copied = shared.stat().st_ino
    build._share_parse(other, "duckdb")
    assert shared.stat().st_ino == copied


def test_a_copy_that_fails_leaves_no_partial_file_and_the_shared_parse_as_it_was(area, monkeypatch):
    paths, own, shared = area
    shared.parent.mkdir(parents=True)
    shared.write_bytes(b"parse one")
    own.write_bytes(b"parse two, longer")

    def half_copy(src, dst):
        with open(dst, "wb") as out:
            out.write(b"parse t")
        raise OSError(28, os.strerror(28))  # no space left on the device

    monkeypatch.setattr(shutil, "copy2", half_copy)
    build._share_parse(paths, "duckdb")
    assert sorted(p.name for p in shared.parent.iterdir()) == [shared.name]
    assert shared.read_bytes() == b"parse one"
