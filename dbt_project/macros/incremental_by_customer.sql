{#- The status engine's incremental models recompute only the customers in
    `int_customers_touched`: before the new rows are appended, the touched customers' old rows
    are deleted (a customer may now have fewer rows, or none). Use as

        config(materialized='incremental', incremental_strategy='append',
               pre_hook="{{ customer_status.delete_touched_customers() }}")

    and join the model's customers to `int_customers_touched` when `is_incremental()` (with a
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
