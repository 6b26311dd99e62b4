"""customer-status: nightly customer status, contactability and billable counts.

The package holds the work; the Airflow DAG in ``dags/`` only wires it together:

- ``ingest``   landing files -> DuckDB ``raw`` tables, with a ledger and per-row rejects
- ``pipeline`` the steps of one night (start, dbt build, audit, publish) and the in-process runner
- ``checks``   audits that must pass before anything is published
- ``generate`` the deterministic synthetic landing zone
- ``cli``      the ``customer-status`` command
"""

__version__ = "0.1.0"
