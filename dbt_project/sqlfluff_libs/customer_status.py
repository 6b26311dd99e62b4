"""Stand-ins for the project's macros when sqlfluff lints the models with its jinja templater
(dbt_project/.sqlfluff): each returns SQL of the same shape as the real macro, so the model
around it parses. They are never used to build anything; the real macros are in macros/."""


def as_of_date():
    return "cast('2026-01-01' as date)"


def run_parameter(name, default=""):
    return default


def add_days(d, n):
    return f"cast({d} + {n} as date)"


def declared_tenant(column):
    return f"{column} in (select declared.tenant_id from staging.stg_landing__tenants as declared)"


def local_date(ts, tz):
    return f"cast(timezone({tz}, {ts}) as date)"


def local_to_utc(ts, tz):
    return f"timezone('UTC', timezone({tz}, {ts}))"


def end_of_local_day(d, tz):
    return f"timezone('UTC', timezone({tz}, cast({d} as timestamp)))"


def earliest_end(a, b):
    return f"least({a}, {b})"


def latest_start(a, b):
    return f"greatest({a}, {b})"


def coalesce_intervals(relation, partition_by, carry=(), order_by_tiebreak=None):
    columns = ", ".join([*partition_by, "from_date", "to_date", *carry])
    return f"select {columns} from {relation}"


def latest_version(relation, key_columns, version_column=None):
    return f"select * from {relation}"


def touched_rows(relation, alias):
    return f"select {alias}.* from {relation} as {alias}"


def is_full_build():
    return False


def merge_walk_id(column):
    return f"replace(replace({column}, '%', '%25'), '|', '%7C')"


def status_engine_relation():
    return "intermediate.int_customer_status_segments"


def built_relation(model_name):
    return f"intermediate.{model_name}"


def status_values(kind):
    return "select status from rules.account_statuses"


def delete_touched_customers():
    return ""
