{#- Published: every rejected landing row (`scope` row) and every rejected whole file
    (`scope` file, row_number NULL), with the reason in words (CONTRACT.md), plus merges
    that cannot apply (`scope` merge: a cycle, a self-merge, an unknown target or a merge
    dated before the customer was created) and self-deletions dated before the customer was
    created (`scope` deletion): the customer row itself is loaded, only its merge or deletion
    is ignored. -#}
with

rejects as (
    select * from {{ source('landing', 'import_rejects') }}
),

merges as (
    select * from {{ ref('int_customer_merges_resolved') }}
    where merge_problem is not null
),

customers as (
    select * from {{ ref('stg_landing__customers') }}
),

deletions as (
    select * from {{ ref('int_account_status_requests') }}
    where request_kind = 'self_deletion' and request_error is not null
),

final as (
    select
        source,
        file,
        row_number,
        tenant_id,
        error,
        case when row_number is null then 'file' else 'row' end as scope
    from rejects

    union all

    select
        'customers' as source,
        customers.source_file as file,
        customers.source_row_number as row_number,
        merges.tenant_id,
        merges.merge_problem as error,
        'merge' as scope
    from merges
    inner join customers
        on customers.tenant_id = merges.tenant_id
        and customers.customer_id = merges.customer_id

    union all

    select
        'customers' as source,
        customers.source_file as file,
        customers.source_row_number as row_number,
        deletions.tenant_id,
        deletions.request_error as error,
        'deletion' as scope
    from deletions
    inner join customers
        on customers.tenant_id = deletions.tenant_id
        and customers.customer_id = deletions.customer_id
)

select * from final
