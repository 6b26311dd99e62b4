{#- The status engine's incremental models recompute only the customers in
    `int_customers_touched`: before the new rows are appended, the touched customers' old rows
    are deleted (a customer may now have fewer rows, or none). Use as

        config(materialized='incremental', incremental_strategy='append',
               pre_hook="{{ customer_status.delete_touched_customers() }}")

    and filter the model's customers with `join_touched_customers` (with a
    `-- depends_on: {{ ref('int_customers_touched') }}` line: dbt parses refs with
    is_incremental() false).
    Dispatched: engines without DELETE (Spark on plain tables) rebuild with --full-refresh. -#}
{% macro delete_touched_customers() %}
    {{ return(adapter.dispatch('delete_touched_customers', 'customer_status')()) }}
{% endmacro %}

{% macro default__delete_touched_customers() %}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where exists (
        select 1 from {{ ref('int_customers_touched') }} as touched
        where touched.tenant_id = {{ this.identifier }}.tenant_id
            and touched.customer_id = {{ this.identifier }}.customer_id
    )
    {%- endif -%}
{% endmacro %}

{#- On an incremental run, keep only the touched customers' rows of `alias` (an inner join to
    `int_customers_touched`); on a full build, nothing. -#}
{% macro join_touched_customers(alias) -%}
    {%- if is_incremental() %}
    inner join {{ ref('int_customers_touched') }} as touched
        on touched.tenant_id = {{ alias }}.tenant_id
        and touched.customer_id = {{ alias }}.customer_id
    {%- endif %}
{%- endmacro %}
