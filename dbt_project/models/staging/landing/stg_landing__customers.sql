with

versions as (
    {{ latest_version(source('landing', 'customers'), ['tenant_id', 'customer_id'], 'updated_at') }}
),

final as (
    select
        tenant_id,
        customer_id,
        code,
        lower(email) as email,
        lower({{ dbt.split_part('email', "'@'", 2) }}) as email_domain,
        phone,
        full_name,
        coalesce(accepts_marketing, false) as accepts_marketing,
        created_at,
        updated_at,
        deleted_at,
        merged_into,
        merged_at,
        _source_file as source_file,
        _row_number as source_row_number
    from versions
    where {{ customer_status.declared_tenant('tenant_id') }}
)

select * from final
