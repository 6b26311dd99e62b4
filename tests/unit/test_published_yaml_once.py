"""Issue 18 (fixed cost of a night): the marts' YAML is parsed once per file version, not on
every call of ``published.marts()`` (the snapshot, publish and report each ask)."""

from __future__ import annotations

import os
import shutil

import yaml

from customer_status.pipeline import published
from customer_status.settings import PROJECT_ROOT


def test_the_marts_yaml_is_parsed_once_and_again_only_when_it_changes(tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_ROOT / "dbt_project" / "models", project / "models")
    files = sorted((project / "models" / "marts").rglob("*.yml"))
    parsed: list[str] = []
    real = yaml.load

    def counting(stream, Loader):  # noqa: N803 (PyYAML's name)
        parsed.append(stream[:40])
        return real(stream, Loader=Loader)

    monkeypatch.setattr(yaml, "load", counting)
    first = published.marts(project)
    published.snapshot_tables(project)
    published.marts(project)
    assert len(parsed) == len(files)
    # an edited file is read again, and what it now says counts
    yml = project / "models" / "marts" / "billing" / "_billing__models.yml"
    yml.write_text(
        yml.read_text().replace("contract: {enforced: true}", "contract: {enforced: false}", 1)
    )
    os.utime(yml, ns=(yml.stat().st_atime_ns, yml.stat().st_mtime_ns + 1_000_000))
    try:
        published.marts(project)
    except published.ContractError as exc:
        assert "billable_counts_daily" in str(exc)
    else:
        raise AssertionError("the edited contract was not read")
    assert len(parsed) == len(files) + 1
    assert set(first) >= {"customer_status", "billable_counts_daily"}
