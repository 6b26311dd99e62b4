"""A night's run parameters do not make dbt parse the project again (pipeline/build.py passes
them as environment variables, macros/as_of_date.sql reads them when a model runs): the
second of two parses that differ only in the as-of date, run id and start parses nothing."""

from __future__ import annotations

import subprocess

from customer_status.pipeline.build import RUN_PARAMETER_ENV, dbt_command, dbt_env, dbt_folder
from customer_status.settings import resolve_paths


def _parse(paths, night: str) -> str:
    env = dbt_env(paths)
    env[RUN_PARAMETER_ENV["as_of_date"]] = night
    env[RUN_PARAMETER_ENV["run_id"]] = f"manual__{night}"
    env[RUN_PARAMETER_ENV["run_started_at"]] = f"{night} 02:00:00"
    proc = subprocess.run(
        dbt_command(paths, "parse", "--log-level-file", "debug"),
        env=env,
        cwd=dbt_folder(paths),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    return (paths.dbt_target / "logs" / "dbt.log").read_text()


def test_the_next_nights_parameters_parse_nothing(tmp_path):
    paths = resolve_paths(tmp_path / "landing", tmp_path / "warehouse.duckdb")
    paths.work_dir.mkdir(parents=True)
    _parse(paths, "2026-11-01")
    log = _parse(paths, "2026-11-02").split("Running with dbt")[-1]
    assert "Partial parsing enabled, no changes found, skipping parsing" in log, [
        line for line in log.splitlines() if "Partial parsing" in line
    ][:20]


def test_a_new_work_area_starts_from_the_parse_another_one_saved(tmp_path, monkeypatch):
    """Each work area has its own dbt target folder; the first build of a new one (a first
    night, every end-to-end test's work area) starts from the parse the last build anywhere
    saved (``build.shared_parse``) instead of parsing the whole project (5-9 s): the profile's
    DuckDB path is the same relative name everywhere (``dbt_env``, ``dbt_folder``)."""
    from customer_status.pipeline import build

    shared = tmp_path / "shared" / "duckdb-partial_parse.msgpack"
    monkeypatch.setattr(build, "shared_parse", lambda paths, engine: shared)

    def first_build(area: str) -> str:
        paths = resolve_paths(tmp_path / area / "landing", tmp_path / area / "warehouse.duckdb")
        env = {**dbt_env(paths), RUN_PARAMETER_ENV["as_of_date"]: "2026-11-01"}
        build.run_dbt(paths, "2026-11-01", ["--select", "tag:no_model_has_this_tag"], env)
        return (paths.dbt_target / "logs" / "dbt.log").read_text()

    assert "Starting full parse" in first_build("one")
    assert shared.exists()
    log = first_build("two")
    assert "Starting full parse" not in log and "Unable to do partial parsing" not in log, [
        line for line in log.splitlines() if "pars" in line
    ][:20]
