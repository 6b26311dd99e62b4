"""A night's run parameters do not make dbt parse the project again (pipeline/build.py passes
them as environment variables, macros/as_of_date.sql reads them when a model runs): the
second of two parses that differ only in the as-of date, run id and start parses nothing."""

from __future__ import annotations

import subprocess

from customer_status.pipeline.build import RUN_PARAMETER_ENV, dbt_command, dbt_env
from customer_status.settings import resolve_paths


def _parse(paths, night: str) -> str:
    env = dbt_env(paths)
    env[RUN_PARAMETER_ENV["as_of_date"]] = night
    env[RUN_PARAMETER_ENV["run_id"]] = f"manual__{night}"
    env[RUN_PARAMETER_ENV["run_started_at"]] = f"{night} 02:00:00"
    proc = subprocess.run(
        dbt_command(paths, "parse", "--log-level-file", "debug"),
        env=env,
        cwd=paths.dbt_project,
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
