with

versions as (
    {{ latest_version(source('landing', 'orders'), ['tenant_id', 'order_id'], 'updated_at') }}
),

final as (
    select
        tenant_id,
        order_id,
        customer_id,
        created_at,
        paid_at,
        refunded_at,
        amount,
        upper(currency) as currency,
        updated_at
    from versions
    where {{ customer_status.declared_tenant('tenant_id') }}
)

select * from final
