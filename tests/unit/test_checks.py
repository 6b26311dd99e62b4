"""The account-status reclassification checks (suites ``reclassification.account_status_*``
in ``expectations/``, run by Great Expectations on the candidate tables) fail, per tenant and
with sample rows, when the candidate tables break a rule."""

from __future__ import annotations

import pytest
from reclassification_harness import Candidates

from customer_status.checks import ChecksFailed

CHECKS = (
    "only_allowed_account_transitions",
    "nothing_leaves_deleted_but_a_restore",
    "every_change_has_reason_and_actor",
)


@pytest.fixture
def con(tmp_path):
    return Candidates(
        tmp_path,
        """
        create schema intermediate; create schema rules; create schema staging; create schema marts;
        create table rules.account_status_transitions as
            select * from (values ('active', 'suspended', true), ('suspended', 'active', true),
                                  ('active', 'fraud_confirmed', false), ('deleted', 'active', false))
            t(from_status, to_status, is_allowed);
        create table intermediate.int_tenants as
            select * from (values ('t1', false), ('t2', true)) t(tenant_id, deleted_can_be_restored);
        create table intermediate.int_account_status_events (
            tenant_id varchar, customer_id varchar, step int, request_id varchar, request_kind varchar,
            from_status varchar, account_status varchar, outcome varchar);
        create table marts.account_status_history (
            tenant_id varchar, customer_id varchar, valid_from timestamp, account_status varchar,
            account_status_reason varchar, account_status_updated_by varchar);
    """,
    )


def events(con, *rows):
    con.executemany(
        "insert into intermediate.int_account_status_events values (?, ?, ?, ?, ?, ?, ?, ?)", rows
    )


def test_clean_candidates_pass(con):
    events(
        con,
        ("t1", "c1", 1, "a1", "set_status", "active", "suspended", "applied"),
        ("t1", "c1", 2, "a2", "set_status", "suspended", "fraud_confirmed", "rejected"),
        ("t2", "c2", 1, "a3", "restore", "deleted", "active", "applied"),
    )
    results = con.check(*CHECKS)
    assert all(r.passed for r in results), [r.describe() for r in results]


def test_a_forbidden_transition_fails_for_its_tenant_with_a_sample(con):
    events(con, ("t1", "c1", 1, "a1", "set_status", "active", "fraud_confirmed", "applied"))
    [result] = con.check("only_allowed_account_transitions")
    assert not result.passed and result.tenant_id == "t1"
    assert result.sample == [("c1", "a1", "active", "fraud_confirmed")]
    assert "t1" in str(ChecksFailed([result])) and "only_allowed_account_transitions" in str(
        ChecksFailed([result])
    )


def test_leaving_deleted_needs_an_allowed_restore(con):
    events(
        con,
        ("t1", "c1", 1, "a1", "restore", "deleted", "active", "applied"),  # t1 does not allow it
        ("t2", "c2", 1, "a2", "restore", "deleted", "active", "applied"),
    )
    [result] = con.check("nothing_leaves_deleted_but_a_restore")
    assert (result.passed, result.tenant_id, result.sample) == (
        False,
        "t1",
        [("c1", "a1", "restore", "active")],
    )


def test_every_change_needs_reason_and_actor(con):
    con.execute(
        "insert into marts.account_status_history values "
        "('t2', 'c1', '2026-01-01', 'suspended', ' ', 'staff:ann'), "
        "('t2', 'c2', '2026-01-01', 'active', 'customer created', 'system')"
    )
    [result] = con.check("every_change_has_reason_and_actor")
    assert not result.passed and result.tenant_id == "t2" and len(result.sample) == 1
