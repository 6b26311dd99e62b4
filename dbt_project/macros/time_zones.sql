{#- Local time <-> UTC for a tenant's time zone. All timestamps inside are UTC; a local day
    only ever comes from these (rules §1). Dispatched so each engine uses its own functions. -#}

{#- The UTC instant of a local wall-clock timestamp `ts` in time zone `tz`. -#}
{% macro local_to_utc(ts, tz) %}{{ return(adapter.dispatch('local_to_utc', 'customer_status')(ts, tz)) }}{% endmacro %}
{% macro default__local_to_utc(ts, tz) %}to_utc_timestamp({{ ts }}, {{ tz }}){% endmacro %}
{% macro duckdb__local_to_utc(ts, tz) %}timezone('UTC', timezone({{ tz }}, {{ ts }})){% endmacro %}

{#- The local calendar date of the UTC instant `ts` in time zone `tz`. -#}
{% macro local_date(ts, tz) %}{{ return(adapter.dispatch('local_date', 'customer_status')(ts, tz)) }}{% endmacro %}
{% macro default__local_date(ts, tz) %}cast(from_utc_timestamp({{ ts }}, {{ tz }}) as date){% endmacro %}
{% macro duckdb__local_date(ts, tz) %}cast(timezone({{ tz }}, timezone('UTC', {{ ts }})) as date){% endmacro %}

{#- The last instant (UTC) of local date `d` in time zone `tz`: local midnight of d+1, minus 1 µs
    (macros/cross_engine/portable.sql: dbt's dateadd cannot subtract a microsecond on Spark). -#}
{% macro end_of_local_day(d, tz) -%}
    {{ customer_status.minus_one_microsecond(customer_status.local_to_utc(dbt.dateadd('day', 1, 'cast(' ~ d ~ ' as timestamp)'), tz)) }}
{%- endmacro %}
