with

versions as (
    {{ latest_version(source('landing', 'status_actions'), ['tenant_id', 'action_id']) }}
),

final as (
    select
        tenant_id,
        action_id,
        customer_id,
        action,
        status as requested_status,
        reason,
        actor,
        requested_at,
        coalesce(source, 'api') as source
    from versions
    where {{ customer_status.declared_tenant('tenant_id') }}
)

select * from final
