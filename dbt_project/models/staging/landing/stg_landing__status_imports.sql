{#- One row per row of a CSV status import; the action id is `<file>:<row>` (docs/contract.md). -#}
with

rows_loaded as (
    select * from {{ source('landing', 'status_imports') }}
),

final as (
    select
        tenant_id,
        _source_file || ':' || cast(_row_number as {{ dbt.type_string() }}) as action_id,
        _source_file as source_file,
        reverse({{ dbt.split_part('reverse(_source_file)', "'/'", 1) }}) as source_file_name,
        _row_number as source_row_number,
        customer_id,
        code,
        email,
        case member_status when 'active' then 'activate' else 'deactivate' end as action,
        reason,
        effective_at,
        loaded_for_as_of_date
    from rows_loaded
    where {{ customer_status.declared_tenant('tenant_id') }}
)

select * from final
