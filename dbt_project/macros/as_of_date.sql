{#- The as-of date D of the run (YYYY-MM-DD) as a date literal. No model reads the clock:
    unit tests and backfills pass the date they mean. The pipeline sets the environment
    variable CUSTOMER_STATUS_AS_OF_DATE rather than the var `as_of_date`: a var that changes
    every night makes dbt re-parse the whole project, an environment variable only the
    models that read it. By hand, `--vars '{as_of_date: ...}'` works too, and wins.
    It is read through run_parameter, when the model runs. -#}
{% macro as_of_date() -%}
    {%- set d = customer_status.run_parameter('as_of_date') -%}
    {%- if not d and execute -%}
        {{ exceptions.raise_compiler_error(
            "the as-of date is not set: pass --vars '{as_of_date: YYYY-MM-DD}'"
            ~ " or set CUSTOMER_STATUS_AS_OF_DATE"
        ) }}
    {%- endif -%}
    cast('{{ d }}' as date)
{%- endmacro %}

{#- A run parameter (`as_of_date`, `run_id`, `run_started_at`): the var `name` when given
    (by hand), else the environment variable CUSTOMER_STATUS_<NAME> the pipeline sets
    (pipeline/build.py, RUN_PARAMETER_ENV), else `default`. The variable is read when the
    model runs (`execute`), not when dbt parses it: dbt re-parses every file whose parse read
    an environment variable that changed since, and their YAML with them, which every night
    did for the as-of date (seconds of start-up). The parsed project holds no run's values;
    each run's compiled SQL has its own. -#}
{% macro run_parameter(name, default='') -%}
    {%- if var(name, none) -%}
        {{ return(var(name)) }}
    {%- endif -%}
    {{ return(env_var('CUSTOMER_STATUS_' ~ name | upper, default) if execute else default) }}
{%- endmacro %}

{#- `d` plus `n` days, as a date (dbt.dateadd gives a timestamp on some engines). -#}
{% macro add_days(d, n) -%}
    cast({{ dbt.dateadd('day', n, d) }} as date)
{%- endmacro %}
