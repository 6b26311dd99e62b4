with

versions as (
    {{ latest_version(source('landing', 'erasure_requests'), ['tenant_id', 'request_id']) }}
),

final as (
    select
        tenant_id,
        request_id,
        customer_id,
        requested_at,
        reason,
        actor,
        _source_file as source_file,
        _row_number as source_row_number,
        _load_id as load_id
    from versions
    where {{ customer_status.declared_tenant('tenant_id') }}
)

select * from final
