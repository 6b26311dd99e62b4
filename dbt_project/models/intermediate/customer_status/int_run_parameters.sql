{#- The parameters this build runs with, one row:
    - `as_of_date`, for the audits that run after dbt (`customer_status.checks.status_audits`):
      they must know D even when no customer exists yet on D;
    - `last_built_load_id`, the highest load id the status engine's previous build had seen
      (-1 without one, or on --full-refresh): rows loaded above it are new tonight. Read here,
      before `int_customer_status_segments` is rebuilt, so `int_customers_touched` and the
      tests that check only new rows agree on it. -#}
-- reads the run's as-of date or id: rebuilt every night (plugins/customer_status/pipeline/build.py)
{{ config(tags=['as_of_date']) }}
with

{% if customer_status.is_full_build() %}
last_build as (
    select cast(-1 as {{ dbt.type_bigint() }}) as last_built_load_id
),
{% else %}
last_build as (
    select coalesce(max(built_through_load_id), -1) as last_built_load_id
    from {{ customer_status.status_engine_relation() }}
),
{% endif %}

final as (
    select {{ customer_status.as_of_date() }} as as_of_date, last_build.last_built_load_id
    from last_build
)

select * from final
