{#- SQL that differs between the engines the project runs on (DuckDB, Spark), each behind
    adapter.dispatch so that DuckDB keeps its own SQL and every model stays one file. -#}

{#- `ts` minus one microsecond. dbt's own dateadd('microsecond', ...) computes 0 on Spark (it
    casts 1/1000000 to int), so Spark gets an interval literal. -#}
{% macro minus_one_microsecond(ts) %}{{ return(adapter.dispatch('minus_one_microsecond', 'customer_status')(ts)) }}{% endmacro %}
{% macro default__minus_one_microsecond(ts) %}{{ dbt.dateadd('microsecond', -1, ts) }}{% endmacro %}
{% macro spark__minus_one_microsecond(ts) %}({{ ts }} - interval 1 microsecond){% endmacro %}

{#- The incremental strategy of a model that replaces earlier versions of its unique key with
    the rows staged tonight. Spark on plain Parquet tables has no DELETE (nor MERGE without
    Delta): there the model overwrites its whole table (`insert_overwrite` of an unpartitioned
    table) and therefore stages every row each time (`stages_new_rows_only` is false). -#}
{% macro replace_keys_strategy() %}{{ return(adapter.dispatch('replace_keys_strategy', 'customer_status')()) }}{% endmacro %}
{% macro default__replace_keys_strategy() %}{{ return('delete+insert') }}{% endmacro %}
{% macro spark__replace_keys_strategy() %}{{ return('insert_overwrite') }}{% endmacro %}

{#- True when an incremental run of such a model reads only the rows loaded since its last
    build (the engine can replace keys); false where it rebuilds the table whole. -#}
{% macro stages_new_rows_only() %}{{ return(adapter.dispatch('stages_new_rows_only', 'customer_status')()) }}{% endmacro %}
{% macro default__stages_new_rows_only() %}{{ return(is_incremental()) }}{% endmacro %}
{% macro spark__stages_new_rows_only() %}{{ return(false) }}{% endmacro %}
