{#- Reactivating events (rules §6): a counting payment, or, where the tenant's
    `reactivation_trigger` is `any_engagement`, also any engagement event. They lift a manual
    deactivation and reset the sunset clock. Only the customer's own events count here (a
    merged customer's past activity does not reactivate the survivor).

    Incremental in two ways (the pre-hook, `delete_touched_customers`, deletes the same rows,
    macros/per_customer.sql):
    - payments (`event_source` payment): the touched customers' rows, as in every
      per-customer model;
    - engagement (`event_source` engagement): by event key. An engagement row depends only on
      itself and on its customer's existence, time zone and reactivation trigger. So a night
      adds the engagement rows staged tonight (a re-sent key replaces its earlier version,
      whichever customer that named), and derives a customer's engagement rows again whole
      only where `int_customers_touched` says `engagement_recomputed` (the customer appeared
      tonight, or its tenant's settings landed). dbt_project/DECISIONS.md, "Reactivating
      events by event key". -#}
{%- set run_parameters = ref('int_run_parameters') %}
{%- set engagement = ref('stg_landing__engagement_events') %}
with

payments as (
    select * from {{ ref('int_payments_attributed') }}
    where not via_merge
),

customers as (
    {{ customer_status.touched_rows(ref('int_customers_enriched'), 'customers') }}
),

engaging_customers as (
    select * from {{ ref('int_customers_enriched') }}
    where reactivation_trigger = 'any_engagement'
),

from_payments as (
    select
        payments.tenant_id,
        payments.customer_id,
        payments.paid_at as event_at,
        payments.paid_date as event_date,
        payments.order_id as event_id,
        {{ dbt.concat(["'order '", 'payments.order_id']) }} as event_description,
        'payment' as event_source
    from payments
    inner join customers
        on payments.tenant_id = customers.tenant_id
            and payments.customer_id = customers.customer_id
),

engagement_in_scope as (
    -- the staging table is named in each branch, not through a shared CTE: DuckDB would
    -- materialise all of its 36M rows (M) before filtering them
    {%- if is_incremental() %}
    -- every engagement row of the customers derived again whole tonight
    select engagement.*
    from {{ engagement }} as engagement
    inner join {{ ref('int_customers_touched') }} as recomputed
        on engagement.tenant_id = recomputed.tenant_id
            and engagement.customer_id = recomputed.customer_id
    where recomputed.engagement_recomputed
    union all
    -- and the rows staged tonight of everyone else
    select engagement.*
    from {{ engagement }} as engagement
    where engagement._load_id > (select last_built_load_id from {{ run_parameters }})
        and not exists (
            select 1 from {{ ref('int_customers_touched') }} as recomputed
            where recomputed.tenant_id = engagement.tenant_id
                and recomputed.customer_id = engagement.customer_id
                and recomputed.engagement_recomputed
        )
    {%- else %}
    select * from {{ engagement }}
    {%- endif %}
),

from_engagement as (
    select
        engagement.tenant_id,
        engagement.customer_id,
        engagement.occurred_at as event_at,
        {{ customer_status.local_date('engagement.occurred_at', 'engaging_customers.timezone') }} as event_date,
        engagement.event_id,
        {{ dbt.concat([
            "coalesce(engagement.event_type, 'engagement')", "' '", 'engagement.event_id'
        ]) }} as event_description,
        'engagement' as event_source
    from engagement_in_scope as engagement
    inner join engaging_customers
        on engagement.tenant_id = engaging_customers.tenant_id
            and engagement.customer_id = engaging_customers.customer_id
),

final as (
    select * from from_payments
    union all
    select * from from_engagement
)

select * from final
