"""Ingestion: landing files -> ``raw`` tables of the working DuckDB file (see ``loader``)."""

from .loader import FileResult, LoadContext, ingest_landing

__all__ = ["FileResult", "LoadContext", "ingest_landing"]
