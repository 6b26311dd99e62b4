{#- Every customer of a declared tenant with its tenant's settings (empty settings take the
    defaults in `stg_landing__tenants`) and its creation as a local date: the one place the
    status engine reads settings from. A customer of a tenant no accepted `tenants` row
    declares is held (SPEC §1): it is not computed here, and `import_rejects` reports it. -#}
with

customers as (
    select * from {{ ref('stg_landing__customers') }}
),

tenants as (
    select * from {{ ref('stg_landing__tenants') }}
),

final as (
    select
        customers.tenant_id,
        customers.customer_id,
        customers.code,
        customers.email,
        customers.email_domain,
        customers.phone,
        customers.full_name,
        customers.accepts_marketing,
        customers.created_at,
        coalesce(tenants.timezone, '{{ var("customer_status__default_timezone") }}') as timezone,
        {{ customer_status.local_date(
            'customers.created_at',
            "coalesce(tenants.timezone, '" ~ var("customer_status__default_timezone") ~ "')"
        ) }} as created_date,
        coalesce(
            tenants.activity_window_days, {{ var("customer_status__default_activity_window_days") }}
        ) as activity_window_days,
        coalesce(
            tenants.reactivation_trigger, '{{ var("customer_status__default_reactivation_trigger") }}'
        ) as reactivation_trigger,
        coalesce(
            tenants.billing_basis, '{{ var("customer_status__default_billing_basis") }}'
        ) as billing_basis,
        coalesce(tenants.send_to_accept_marketing_only, false) as send_to_accept_marketing_only,
        coalesce(tenants.suspended_blocks_redemption, false) as suspended_blocks_redemption,
        tenants.sunset_after_days
    from customers
    inner join tenants
        on tenants.tenant_id = customers.tenant_id
)

select * from final
