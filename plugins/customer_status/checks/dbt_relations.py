"""dbt's models and seeds by name, as the relations dbt built them: read from the manifest.

The one place in Python where a dbt table name becomes ``schema.table``. The night's
``dbt build`` writes ``<dbt target>/target/manifest.json`` (``pipeline.build``); every node
there carries its ``relation_name``, quoted for the engine it was built on, so a model moved
to another schema, given an alias or built on another engine is found where dbt put it.

Queries name dbt relations the way dbt models do: ``{{ ref('int_run_parameters') }}``,
``{{ ref('int_tenants') }}`` (every tenant's settings, defaults applied).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..settings import Paths

_REF = re.compile(r"\{\{\s*ref\(\s*'([A-Za-z0-9_]+)'\s*\)\s*\}\}")
_LEFT_OVER = re.compile(r"\{\{.*?\}\}", re.S)


class UnknownRelation(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def manifest_path(paths: Paths) -> Path:
    """Where the night's ``dbt build`` wrote its manifest (``pipeline.build.dbt_command``)."""
    return paths.dbt_target / "target" / "manifest.json"


class Relations:
    """Model and seed names -> relation names (``"schema"."table"`` or as the engine quotes them)."""

    def __init__(
        self,
        by_name: dict[str, str],
        source: str = "the given relations",
        adapter_type: str = "duckdb",
    ):
        self.by_name = dict(by_name)
        self.source = source
        self.adapter_type = adapter_type  # the engine dbt built them on: duckdb or spark

    @classmethod
    def from_manifest(cls, path: Path) -> Relations:
        if not path.exists():
            raise FileNotFoundError(
                f"dbt's manifest {path} does not exist: the audit reads the relations of the "
                "night's dbt build, which must run first"
            )
        manifest = json.loads(path.read_text())
        return cls(
            {
                n["name"]: n["relation_name"]
                for n in manifest["nodes"].values()
                if n["resource_type"] in ("model", "seed") and n.get("relation_name")
            },
            source=str(path),
            adapter_type=manifest.get("metadata", {}).get("adapter_type") or "duckdb",
        )

    @classmethod
    def of_build(cls, paths: Paths) -> Relations:
        return cls.from_manifest(manifest_path(paths))

    def ref(self, name: str) -> str:
        try:
            return self.by_name[name]
        except KeyError:
            raise UnknownRelation(f"no dbt model or seed named {name!r} in {self.source}") from None

    def render(self, sql: str) -> str:
        """``sql`` with every ``{{ ref('name') }}`` replaced by its relation; anything else
        between double braces is an error, not passed through."""
        sql = _REF.sub(lambda m: self.ref(m.group(1)), sql)
        left = _LEFT_OVER.search(sql)
        if left:
            raise ValueError(
                f"cannot resolve {left.group(0)!r}: only ref('name')"
            )
        return sql
