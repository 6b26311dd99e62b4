{#- Every rejected landing row and every rejected whole file (row_number NULL), with the
    reason in words (CONTRACT.md `import_rejects`). -#}
with

rejects as (
    select * from {{ source('landing', 'import_rejects') }}
),

final as (
    select
        source,
        file,
        row_number,
        tenant_id,
        error
    from rejects
)

select * from final
