"""The landing sources of docs/contract.md as data: columns, types, required columns and keys.

This is the one place that says what a landing file must look like. Ingestion builds its
typing and reject rules from it, and the raw tables' DDL too, so a new optional column is a
one-line change here (plus its staging model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..seeds import account_statuses

Values = tuple[str, ...] | Callable[[], tuple[str, ...]]


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | id | lower | timestamp | boolean | integer | amount | ratio | enum | email | timezone
    required: bool = False
    # for kind == "enum": the allowed values, or the function that reads them (a status list
    # is the dbt project's seed, read when a file is checked: ``seeds.account_statuses``)
    allowed: Values = ()

    @property
    def values(self) -> tuple[str, ...]:
        """The allowed values of an ``enum`` column."""
        return tuple(self.allowed()) if callable(self.allowed) else self.allowed

    @property
    def sql_type(self) -> str:
        return {
            "timestamp": "timestamp",
            "boolean": "boolean",
            "integer": "bigint",
            "amount": "decimal(18, 2)",
            "ratio": "double",
        }.get(self.kind, "varchar")


@dataclass(frozen=True)
class Source:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    version_column: str | None = None  # a later value replaces an earlier version of the key

    @property
    def column_names(self) -> tuple[str, ...]:
        """All columns, in the contract's order."""
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, kind: str = "text", required: bool = False, values: Values = ()):
    return Column(name, kind, required, values)


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "tenants",
            key=("tenant_id",),
            version_column="updated_at",
            columns=(
                _c("tenant_id", "id", True),
                _c("name"),
                _c("timezone", "timezone"),
                _c("activity_window_days", "integer"),
                _c("reactivation_trigger", "enum", values=("purchase", "any_engagement")),
                _c("billing_basis", "enum", values=("active_customers", "subscribers")),
                _c("send_to_accept_marketing_only", "boolean"),
                _c("deleted_can_be_restored", "boolean"),
                _c("suspended_blocks_redemption", "boolean"),
                _c("sunset_after_days", "integer"),
                _c("internal_email_domains"),
                _c("max_billable_swing", "ratio"),
                _c("max_reject_ratio", "ratio"),
                _c("updated_at", "timestamp"),
            ),
        ),
        Source(
            "customers",
            key=("tenant_id", "customer_id"),
            version_column="updated_at",
            columns=(
                _c("tenant_id", "id", True),
                _c("customer_id", "id", True),
                _c("code"),
                _c("email", "email"),
                _c("phone"),
                _c("full_name"),
                _c("accepts_marketing", "boolean"),
                _c("created_at", "timestamp", True),
                _c("updated_at", "timestamp"),
                _c("deleted_at", "timestamp"),
                _c("merged_into", "id"),
                _c("merged_at", "timestamp"),
            ),
        ),
        Source(
            "orders",
            key=("tenant_id", "order_id"),
            version_column="updated_at",
            columns=(
                _c("tenant_id", "id", True),
                _c("order_id", "id", True),
                _c("customer_id", "id", True),
                _c("created_at", "timestamp", True),
                _c("paid_at", "timestamp"),
                _c("refunded_at", "timestamp"),
                _c("amount", "amount"),
                _c("currency"),
                _c("updated_at", "timestamp"),
            ),
        ),
        Source(
            "subscription_events",
            key=("tenant_id", "subscription_id", "changed_at"),
            columns=(
                _c("tenant_id", "id", True),
                _c("subscription_id", "id", True),
                _c("customer_id", "id", True),
                _c("status", "enum", True, ("in_progress", "suspended", "terminated")),
                _c("changed_at", "timestamp", True),
            ),
        ),
        Source(
            "engagement_events",
            key=("tenant_id", "event_id"),
            columns=(
                _c("tenant_id", "id", True),
                _c("event_id", "id", True),
                _c("customer_id", "id", True),
                _c("channel"),
                _c("event_type"),
                _c("occurred_at", "timestamp", True),
            ),
        ),
        Source(
            "status_actions",
            key=("tenant_id", "action_id"),
            columns=(
                _c("tenant_id", "id", True),
                _c("action_id", "id", True),
                _c("customer_id", "id", True),
                _c("action", "enum", True, ("activate", "deactivate", "set_status", "restore")),
                # a predefined status or a tenant label: checked against labels by the rules,
                # so an unknown one becomes a rejected *action* (rules §4), not a bad row
                _c("status", "lower"),
                _c("reason"),
                _c("actor"),
                _c("requested_at", "timestamp", True),
                _c("source", "enum", values=("ui", "bulk", "api")),
            ),
        ),
        Source(
            "status_labels",
            key=("tenant_id", "label"),
            columns=(
                _c("tenant_id", "id", True),
                _c("label", "lower", True),
                _c("status", "enum", True, account_statuses),  # rules §4, the seed
            ),
        ),
        Source(
            "suppressions",
            key=("tenant_id", "kind", "value", "added_at"),
            columns=(
                _c("tenant_id", "id", True),
                _c("kind", "enum", True, ("domain", "email")),
                _c("value", "lower", True),
                _c("added_at", "timestamp", True),
                _c("removed_at", "timestamp"),
                _c("actor"),
                _c("reason"),
            ),
        ),
        # rules §12: a request to erase a customer's personal data (customer-status forget);
        # reason and actor are required: a request without them is a rejected row
        Source(
            "erasure_requests",
            key=("tenant_id", "request_id"),
            columns=(
                _c("tenant_id", "id", True),
                _c("request_id", "id", True),
                _c("customer_id", "id", True),
                _c("requested_at", "timestamp", True),
                _c("reason", "text", True),
                _c("actor", "text", True),
            ),
        ),
    )
}

# Status imports are shop/spreadsheet exports with their own header names (docs/contract.md):
# one key column, one status column, optional reason and effective time.
STATUS_IMPORT_KEYS = {"customer id": "customer_id", "code": "code", "email": "email"}
STATUS_IMPORT_STATUS_COLUMNS = ("customer status", "active/inactive")
STATUS_IMPORT_OPTIONAL = {"reason": "reason", "effective at": "effective_at"}
STATUS_IMPORT_VALUES = ("active", "inactive")

# Sources are loaded in this order: tenant settings (reject ratios) first.
LOAD_ORDER = (*SOURCES, "status_imports")
