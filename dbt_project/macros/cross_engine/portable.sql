{#- SQL that differs between the engines the project runs on (DuckDB, Spark), each behind
    adapter.dispatch so that DuckDB keeps its own SQL and every model stays one file. -#}

{#- `ts` minus one microsecond. dbt's own dateadd('microsecond', ...) computes 0 on Spark (it
    casts 1/1000000 to int), so Spark gets an interval literal. -#}
{% macro minus_one_microsecond(ts) %}{{ return(adapter.dispatch('minus_one_microsecond', 'customer_status')(ts)) }}{% endmacro %}
{% macro default__minus_one_microsecond(ts) %}{{ dbt.dateadd('microsecond', -1, ts) }}{% endmacro %}
{% macro spark__minus_one_microsecond(ts) %}({{ ts }} - interval 1 microsecond){% endmacro %}

{#- A 64-bit hash of `columns` (a list of SQL expressions): rows that share a key share its
    hash, so a hash that occurs once is a key that occurs once. Grouping 64-bit integers is much
    cheaper than grouping several text columns; keys whose hash repeats (repeated keys, and the
    rare collision) are then compared exactly. DuckDB's hash() and Spark's xxhash64() take
    several arguments; elsewhere, dbt's md5 of the columns concatenated. -#}
{% macro key_hash(columns) %}{{ return(adapter.dispatch('key_hash', 'customer_status')(columns)) }}{% endmacro %}
{% macro default__key_hash(columns) %}{{ dbt.hash(dbt.concat(columns)) }}{% endmacro %}
{% macro duckdb__key_hash(columns) %}hash({{ columns | join(', ') }}){% endmacro %}
{% macro spark__key_hash(columns) %}xxhash64({{ columns | join(', ') }}){% endmacro %}

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

{#- The per-customer models' pre-hook on Spark (`delete_touched_customers`, macros/per_customer.sql).
    Plain Parquet tables have no DELETE: on an incremental build the table is rewritten
    without the customers in `int_customers_touched` (through a side table, since Spark
    refuses to overwrite a table it reads), and the folder's `append` strategy then adds
    their recomputed rows, as on DuckDB. Only the touched customers are computed again; the
    rewrite costs one read and one write of the model's table. `int_reactivating_events`
    (engagement_by_event_key) keeps the same rows as the DuckDB delete drops. -#}
{% macro spark__delete_touched_customers() %}
    {%- if execute and is_incremental() -%}
        {%- set kept = this.incorporate(path={'identifier': this.identifier ~ '__kept'}) -%}
        {%- set touched = ref('int_customers_touched') -%}
        {%- do run_query('drop table if exists ' ~ kept) -%}
        {%- set by_event_key = customer_status.engagement_by_event_key() -%}
        {%- do run_query(
            'create table ' ~ kept ~ ' using parquet as select kept.* from ' ~ this ~ ' as kept'
            ~ ' left anti join ' ~ touched ~ ' as touched'
            ~ ' on touched.tenant_id = kept.tenant_id and touched.customer_id = kept.customer_id'
            ~ (" and (kept.event_source = 'payment' or touched.engagement_recomputed)"
                ~ ' left anti join (' ~ customer_status.engagement_keys_staged_tonight() ~ ') as staged'
                ~ ' on staged.tenant_id = kept.tenant_id and staged.event_id = kept.event_id'
                ~ " and kept.event_source = 'engagement'" if by_event_key else '')
        ) -%}
        {%- do run_query('insert overwrite table ' ~ this ~ ' select * from ' ~ kept) -%}
        {%- do run_query('drop table ' ~ kept) -%}
    {%- endif -%}
{% endmacro %}

{#- The schema a model is built in, from its configured name. On Spark the marts are built
    into `marts_candidate`: the cluster's own `marts` database is rewritten from it only in the
    night's publish step, after every check passed (customer_status.spark.night). On DuckDB
    the working file's `marts` is the candidate already (the published warehouse is another
    file, replaced whole). -#}
{% macro engine_schema_name(name) %}{{ return(adapter.dispatch('engine_schema_name', 'customer_status')(name)) }}{% endmacro %}
{% macro default__engine_schema_name(name) %}{{ return(name) }}{% endmacro %}
{% macro spark__engine_schema_name(name) %}{{ return('marts_candidate' if name == 'marts' else name) }}{% endmacro %}
