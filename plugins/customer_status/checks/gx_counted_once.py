"""An ``unexpected_rows_expectation`` whose query runs once.

GX 1.24's ``UnexpectedRowsExpectation`` asks for two metrics over the same query: the rows
(``unexpected_rows_query.table``, fetched in full and kept only in the COMPLETE result
format) and their count (``unexpected_rows_query.row_count``). On DuckDB each metric runs the
whole query, so a check such as "one version of a key per file", a grouping of every loaded
row, ran twice (issue 18: most of the import validation at 10M customers). In the SUMMARY
format the import checks use, the rows are never shown, so this subclass asks for the count
alone; the result (success, ``observed_value``) is the one GX's own expectation gives, and
the COMPLETE format still fetches the rows. The night fetches up to 5 sample rows itself when
a check fails (``gx_imports._sample_rows``).

Importing this module registers the expectation type ``unexpected_rows_counted_once`` with GX
(``gx_runtime.import_gx`` does, in every GX process, so stored results always render).
``tests/unit/test_gx_counted_once.py`` fails loudly if a GX upgrade changes the metric names.
"""

from __future__ import annotations

from great_expectations.expectations.core.unexpected_rows_expectation import (
    UnexpectedRowsExpectation,
)

ROWS_METRIC = "unexpected_rows_query.table"
COUNT_METRIC = "unexpected_rows_query.row_count"


def _result_format(runtime_configuration: dict | None) -> str:
    fmt = (runtime_configuration or {}).get("result_format", "SUMMARY")
    return fmt.get("result_format", "SUMMARY") if isinstance(fmt, dict) else fmt


class UnexpectedRowsCountedOnce(UnexpectedRowsExpectation):
    """``UnexpectedRowsExpectation`` that runs its query once (as a count) unless the
    COMPLETE result format needs the rows."""

    def get_validation_dependencies(self, execution_engine=None, runtime_configuration=None):
        deps = super().get_validation_dependencies(
            execution_engine=execution_engine, runtime_configuration=runtime_configuration
        )
        if _result_format(runtime_configuration) != "COMPLETE":
            deps.remove_metric_configuration(ROWS_METRIC)
        return deps

    def _validate(self, metrics: dict, runtime_configuration=None, execution_engine=None):
        if ROWS_METRIC not in metrics:  # not fetched: the result formats that show no rows
            metrics = {**metrics, ROWS_METRIC: None}
        return super()._validate(metrics, runtime_configuration, execution_engine)


EXPECTATION_TYPE = UnexpectedRowsCountedOnce.expectation_type
