"""The per-tenant publishing params of the DAG reach the publish step (``nightly.publish``)."""

from __future__ import annotations

from datetime import datetime

from customer_status.pipeline.context import RunContext


def test_the_per_tenant_params_exist_and_default_to_the_environment(dagbag):
    params = dagbag.dags["customer_status_nightly"].params
    assert params["publish_per_tenant"] is None  # None: $CUSTOMER_STATUS_PUBLISH_PER_TENANT
    assert params["publish_pii"] is None  # None: $CUSTOMER_STATUS_PUBLISH_PII
    schema = params.get_param("publish_pii").schema
    assert schema["enum"] == [None, "full", "none"]


def test_the_publish_task_passes_the_params_on(dagbag, monkeypatch):
    from customer_status.pipeline import nightly

    seen = {}
    monkeypatch.setattr(nightly, "publish", lambda ctx, **kw: seen.update(kw, run=ctx.run_id))
    run = {"context": RunContext("r1", None, datetime(2026, 4, 1, 12)).to_dict()}
    task = dagbag.dags["customer_status_nightly"].task_dict["publish"]
    task.python_callable(run, params={"publish_per_tenant": True, "publish_pii": "none"})
    assert seen == {"per_tenant": True, "pii": "none", "run": "r1"}
