with

versions as (
    {{ latest_version(
        source('landing', 'suppressions'), ['tenant_id', 'kind', 'value', 'added_at']
    ) }}
),

final as (
    select
        tenant_id,
        kind,
        value,
        added_at,
        removed_at,
        actor,
        reason
    from versions
    where {{ customer_status.declared_tenant('tenant_id') }}
)

select * from final
