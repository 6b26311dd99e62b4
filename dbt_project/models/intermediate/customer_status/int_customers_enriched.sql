{#- Every customer of a declared tenant with its tenant's settings (empty settings took the
    defaults in `int_tenants`) and its creation as a local date: the one place the
    status engine reads settings from. A customer of a tenant no accepted `tenants` row
    declares is held (rules §1): it is not computed here, and `import_rejects` reports it. -#}
with

customers as (
    select * from {{ ref('stg_landing__customers') }}
),

tenants as (
    select * from {{ ref('int_tenants') }}
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
        tenants.timezone,
        {{ customer_status.local_date('customers.created_at', 'tenants.timezone') }} as created_date,
        tenants.activity_window_days,
        tenants.reactivation_trigger,
        tenants.billing_basis,
        tenants.send_to_accept_marketing_only,
        tenants.suspended_blocks_redemption,
        tenants.sunset_after_days
    from customers
    inner join tenants
        on customers.tenant_id = tenants.tenant_id
)

select * from final
