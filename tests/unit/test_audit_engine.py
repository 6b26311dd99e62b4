"""Where the audits run: the night's dbt manifest names the engine its tables were built on
(the suites then run on the Spark cluster for a Spark night: tests/spark), and an error from
the cluster reaches the check as its message, not as the whole Thrift response."""

from __future__ import annotations

import json

from customer_status.checks.dbt_relations import Relations
from customer_status.checks.gx_runtime import short_error


def _manifest(tmp_path, metadata: dict):
    path = tmp_path / "manifest.json"
    node = {"name": "int_tenants", "resource_type": "model", "relation_name": "x.int_tenants"}
    path.write_text(json.dumps({"metadata": metadata, "nodes": {"model.p.int_tenants": node}}))
    return path


def test_the_manifest_says_which_engine_built_the_tables(tmp_path):
    spark = Relations.from_manifest(_manifest(tmp_path, {"adapter_type": "spark"}))
    assert spark.adapter_type == "spark" and spark.ref("int_tenants") == "x.int_tenants"
    assert Relations.from_manifest(_manifest(tmp_path, {})).adapter_type == "duckdb"
    assert Relations({}).adapter_type == "duckdb"


def test_an_error_from_the_cluster_is_its_message():
    raw = (
        "(pyhive.exc.OperationalError) TExecuteStatementResp(status=TStatus(statusCode=3, "
        "infoMessages=['*org.apache.hive.service.cli.HiveSQLException:Error running query: "
        "boom:42:41', 'org.apache.spark.sql.hive.thriftserver.X:run:X.scala:43'], "
        "sqlState='42K01', errorCode=0, errorMessage='Error running query: [DATATYPE_MISSING_SIZE]"
        " org.apache.spark.sql.catalyst.parser.ParseException: \\n[DATATYPE_MISSING_SIZE] "
        'DataType "VARCHAR" requires a length parameter.\\n== SQL (line 2) ==\\n...\', '
        "operationHandle=None)\n[SQL: select 1]"
    )
    assert short_error(raw) == (
        "Error running query: [DATATYPE_MISSING_SIZE] org.apache.spark.sql.catalyst.parser."
        'ParseException: [DATATYPE_MISSING_SIZE] DataType "VARCHAR" requires a length parameter.'
    )
    assert short_error("Binder Error: no column x") == "Binder Error: no column x"
    assert short_error(None) is None
