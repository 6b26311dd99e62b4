{#- The as-of date D of the run (var `as_of_date`, YYYY-MM-DD, set by the DAG) as a date
    literal. No model reads the clock: unit tests and backfills pass the date they mean. -#}
{% macro as_of_date() -%}
    {%- set d = var('as_of_date') -%}
    {%- if d is none and execute -%}
        {{ exceptions.raise_compiler_error("var 'as_of_date' is not set: pass --vars '{as_of_date: YYYY-MM-DD}'") }}
    {%- endif -%}
    cast('{{ d }}' as date)
{%- endmacro %}

{#- `d` plus `n` days, as a date (dbt.dateadd gives a timestamp on some engines). -#}
{% macro add_days(d, n) -%}
    cast({{ dbt.dateadd('day', n, d) }} as date)
{%- endmacro %}
