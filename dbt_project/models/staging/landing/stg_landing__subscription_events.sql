with

versions as (
    {{ latest_version(
        source('landing', 'subscription_events'),
        ['tenant_id', 'subscription_id', 'changed_at']
    ) }}
),

final as (
    select
        tenant_id,
        subscription_id,
        customer_id,
        status,
        changed_at
    from versions
    where {{ customer_status.declared_tenant('tenant_id') }}
)

select * from final
