{#- Who a merged customer's history (payments, subscriptions) counts for, over time, as
    local-date ranges [owner_from_date, owner_to_date) (rules §4: from the merge's local date
    it counts for the customer it was merged into *at that time*). With A merged into B on
    day 1 and B into C on day 4: A's history counts for B on [day 1, day 4) and for C from
    day 4 on (`hop` 1 and 2). In general the owner at hop k holds from the latest merge of
    the chain before it until its own merge: with B merged into C on day 1 and A into B on
    day 4, B's range is empty (not listed) and C holds from day 4.

    The merged customer keeps its own history as well (its own lifecycle goes on; it is
    archived): this model lists only the other customers it counts for. Only merges that
    apply (`int_customer_merges_resolved.merge_problem` NULL) are followed; they form no
    cycle, so the walk ends; it is bounded at 100 hops all the same. -#}
with

merges as (
    select tenant_id, customer_id, merged_into, merged_at
    from {{ ref('int_customer_merges_resolved') }}
    where merge_problem is null
),

customers as (
    select tenant_id, customer_id, timezone from {{ ref('int_customers_enriched') }}
),

walks as (
    select * from (
        with recursive walk as (
            select
                tenant_id,
                customer_id,
                merged_into as owner_id,
                1 as hop,
                merged_at as owner_from_at
            from merges
            union all
            select
                walk.tenant_id,
                walk.customer_id,
                merges.merged_into as owner_id,
                walk.hop + 1 as hop,
                {{ customer_status.latest_start('walk.owner_from_at', 'merges.merged_at') }} as owner_from_at
            from walk
            inner join merges
                on merges.tenant_id = walk.tenant_id
                and merges.customer_id = walk.owner_id
            where walk.hop < 100
        )
        select * from walk
    ) as walk_rows
),

dated as (
    select
        walks.tenant_id,
        walks.customer_id,
        walks.owner_id,
        walks.hop,
        {{ customer_status.local_date('walks.owner_from_at', 'customers.timezone') }} as owner_from_date,
        {{ customer_status.local_date('owner_merges.merged_at', 'customers.timezone') }} as owner_to_date
    from walks
    inner join customers
        on customers.tenant_id = walks.tenant_id
        and customers.customer_id = walks.customer_id
    left join merges as owner_merges
        on owner_merges.tenant_id = walks.tenant_id
        and owner_merges.customer_id = walks.owner_id
),

final as (
    select tenant_id, customer_id, owner_id, hop, owner_from_date, owner_to_date
    from dated
    where owner_to_date is null or owner_to_date > owner_from_date
)

select * from final
