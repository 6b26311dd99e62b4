{#- The status engine's per-customer models (models/intermediate/customer_status/per_customer/)
    recompute only the customers in `int_customers_touched`. The folder's config in
    dbt_project.yml makes each of them incremental (append) with the pre-hook
    `delete_touched_customers`: before the new rows are appended, the touched customers' old
    rows are deleted (a customer may now have fewer rows, or none). A model of the folder
    reads its inputs through `touched_rows`, which keeps the touched customers' rows on an
    incremental build and every row on a full one.
    Dispatched: Spark (plain Parquet tables, no DELETE) rewrites the table without the touched
    customers instead (macros/cross_engine/portable.sql). -#}
{% macro delete_touched_customers() %}
    {{ return(adapter.dispatch('delete_touched_customers', 'customer_status')()) }}
{% endmacro %}

{% macro default__delete_touched_customers() %}
    {%- if is_incremental() -%}
    {%- set touched = ref('int_customers_touched') -%}
    {%- set t = this.identifier -%}
    {%- if not customer_status.engagement_by_event_key() -%}
    delete from {{ this }}
    where exists (
        select 1 from {{ touched }} as touched
        where touched.tenant_id = {{ t }}.tenant_id
            and touched.customer_id = {{ t }}.customer_id
    )
    {%- else -%}
    {#- three deletes, each one join (one `delete` with an `or` of them took 17 s at M,
        on a loaded machine) -#}
    delete from {{ this }}
    where {{ t }}.event_source = 'payment'
        and exists (
            select 1 from {{ touched }} as touched
            where touched.tenant_id = {{ t }}.tenant_id
                and touched.customer_id = {{ t }}.customer_id
        );
    delete from {{ this }}
    where {{ t }}.event_source = 'engagement'
        and exists (
            select 1 from {{ touched }} as touched
            where touched.engagement_recomputed
                and touched.tenant_id = {{ t }}.tenant_id
                and touched.customer_id = {{ t }}.customer_id
        );
    {#- `using`, not `exists`: with the watermark's subquery inside a correlated `exists`
        DuckDB joined every row of the table to it (7 s instead of 0.5 at M) -#}
    delete from {{ this }}
    using ({{ customer_status.engagement_keys_staged_tonight() }}) as staged
    where {{ t }}.event_source = 'engagement'
        and staged.tenant_id = {{ t }}.tenant_id
        and staged.event_id = {{ t }}.event_id
    {%- endif -%}
    {%- endif -%}
{% endmacro %}

{#- True for the per-customer model whose engagement rows are kept by event key
    (`int_reactivating_events`, meta `engagement_by_event_key` in its YAML): on an
    incremental build its pre-hook deletes the touched customers' payment rows, every
    engagement row of the customers `int_customers_touched` marks `engagement_recomputed`,
    and the earlier version of every engagement key staged tonight, whatever customer it
    named (rules §6; dbt_project/DECISIONS.md, "Reactivating events by event key"). -#}
{% macro engagement_by_event_key() -%}
    {{ return(config.get('meta', {}).get('engagement_by_event_key', false)) }}
{%- endmacro %}

{#- The (tenant_id, event_id) of the engagement rows staged since the status engine's last
    build: the keys whose reactivating event is added, or replaced, tonight. -#}
{% macro engagement_keys_staged_tonight() -%}
    select tenant_id, event_id from {{ ref('stg_landing__engagement_events') }}
    where _load_id > (select last_built_load_id from {{ ref('int_run_parameters') }})
{%- endmacro %}

{#- The rows of `relation` (a relation or a CTE, with tenant_id and customer_id) that belong
    to the customers recomputed tonight, as `select <alias>.* from <relation> as <alias>`, so
    that the caller can add a `where` on `alias`: on an incremental build an inner join to
    `int_customers_touched`, on a full build every row. The ref is made whatever the build,
    so dbt always knows the dependency (no `-- depends_on` line in the models). -#}
{% macro touched_rows(relation, alias) -%}
    {%- set touched = ref('int_customers_touched') -%}
    select {{ alias }}.* from {{ relation }} as {{ alias }}
    {%- if is_incremental() %}
    inner join {{ touched }} as touched
        on touched.tenant_id = {{ alias }}.tenant_id
        and touched.customer_id = {{ alias }}.customer_id
    {%- endif %}
{%- endmacro %}

{#- True when tonight's build of the status engine is a full one: --full-refresh, or no
    previous build of the engine in this database (its last model,
    `int_customer_status_segments`, does not exist yet: a new work file). Read by the models
    that are not incremental themselves but decide what the incremental ones recompute
    (`int_customers_touched`, `int_run_parameters`). -#}
{% macro is_full_build() -%}
    {{ return(flags.FULL_REFRESH or customer_status.status_engine_relation() is none) }}
{%- endmacro %}

{#- The existing table of the status engine's last model, `int_customer_status_segments`
    (its `built_through_load_id` is the watermark), or none. It cannot be a ref: the segments
    depend on the models that read it. -#}
{% macro status_engine_relation() -%}
    {{ return(customer_status.built_relation('int_customer_status_segments')) }}
{%- endmacro %}

{#- The table a model of this project left in the database by its last build, or none (not
    built yet). Looked up where dbt says the model lives (the graph), not by a schema written
    here. For a model that reads what another model built before, where a ref would be a
    cycle. At parse time (no graph yet): none. -#}
{% macro built_relation(model_name) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = graph.nodes.values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', model_name)
        | first -%}
    {{ return(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}

{#- A customer id as a merge walk writes it into its path of visited customers (ids between
    two `|`, `int_customers_touched`): `%` as %25 and `|` as %7C, so that no id can show up
    inside the path as another id. -#}
{% macro merge_walk_id(column) -%}
    replace(replace({{ column }}, '%', '%25'), '|', '%7C')
{%- endmacro %}
