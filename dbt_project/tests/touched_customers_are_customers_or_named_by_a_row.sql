{#- `int_customers_touched` invents no customer: every id it lists is a customer of a declared
    tenant (`int_customers_enriched`), or is named by a landed row of a source that touches
    its customer: an order, subscription event, status action or erasure request of a
    customer that has not landed (yet), engagement of one loaded tonight, or a customer row of a tenant not declared (yet).
    Those ids are touched on purpose: the per-customer models recompute their rows (an order
    of an unknown customer is published as invalid, and counts once the customer lands).
    One row per id that is neither. -#}
{%- set naming_sources = ['customers', 'orders', 'subscription_events', 'status_actions', 'erasure_requests'] %}
with

not_customers as (
    select
        touched.tenant_id,
        touched.customer_id
    from {{ ref('int_customers_touched') }} as touched
    left join {{ ref('int_customers_enriched') }} as customers
        on touched.tenant_id = customers.tenant_id
            and touched.customer_id = customers.customer_id
    where customers.customer_id is null
),

named as (
    {%- for name in naming_sources %}
    select
        named_by.tenant_id,
        named_by.customer_id
    from {{ source('landing', name) }} as named_by
    inner join not_customers
        on named_by.tenant_id = not_customers.tenant_id
            and named_by.customer_id = not_customers.customer_id
    union
    {%- endfor %}
    -- engagement touches only by the rows staged tonight (int_customers_touched, own rows)
    select
        named_by.tenant_id,
        named_by.customer_id
    from {{ source('landing', 'engagement_events') }} as named_by
    inner join not_customers
        on named_by.tenant_id = not_customers.tenant_id
            and named_by.customer_id = not_customers.customer_id
    where named_by._load_id > (select last_built_load_id from {{ ref('int_run_parameters') }})
)

select
    not_customers.tenant_id,
    not_customers.customer_id
from not_customers
left join named
    on not_customers.tenant_id = named.tenant_id
        and not_customers.customer_id = named.customer_id
where named.customer_id is null
