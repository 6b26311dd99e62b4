with

versions as (
    {{ latest_version(source('landing', 'status_labels'), ['tenant_id', 'label']) }}
),

final as (
    select
        tenant_id,
        label,
        status as account_status
    from versions
    where {{ customer_status.declared_tenant('tenant_id') }}
)

select * from final
