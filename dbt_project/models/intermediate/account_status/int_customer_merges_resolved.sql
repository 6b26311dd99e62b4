{#- Every merge (`customers.merged_into` + `merged_at`), whether it can apply, and its current
    survivor (chains of merges resolve: A -> B -> C gives C for A and B). A merge is bad input
    and is ignored, with the reason (published in `import_rejects`), when it is into itself,
    into an unknown customer, has no `merged_at`, is dated before the customer was created,
    or is part of a cycle (A -> B -> A) of merges that are otherwise fine. A merge into a
    customer whose own merge is ignored is fine: its chain ends there.

    `survivor_id` is who the chain ends at today; who the merged customer's history counts
    for on each day (point in time: A -> B on day 1, B -> C on day 4 gives B on days 1-3 and
    C from day 4) is `int_customer_merge_owners`. The walk is a recursive CTE bounded at 100
    hops. -#}
with

customers as (
    select * from {{ ref('stg_landing__customers') }}
),

merges as (
    select
        merges.tenant_id,
        merges.customer_id,
        merges.merged_into,
        merges.merged_at,
        merges.created_at,
        case
            when merges.merged_into = merges.customer_id
                then 'merged into itself; the merge is ignored'
            when targets.customer_id is null
                then {{ dbt.concat(["'merged into unknown customer '", 'merges.merged_into', "'; the merge is ignored'"]) }}
            when merges.merged_at is null
                then {{ dbt.concat(["'merged into '", 'merges.merged_into', "' without merged_at; the merge is ignored'"]) }}
            when merges.merged_at < merges.created_at
                then 'merged before the customer was created; the merge is ignored'
        end as own_problem
    from customers as merges
    left join customers as targets
        on targets.tenant_id = merges.tenant_id
        and targets.customer_id = merges.merged_into
    where merges.merged_into is not null
),

-- the merges that are fine on their own: the only links a chain (or a cycle) can follow
links as (
    select tenant_id, customer_id, merged_into
    from merges
    where own_problem is null
),

walks as (
    select * from (
        with recursive walk as (
            select
                tenant_id,
                customer_id as start_id,
                merged_into as current_id,
                1 as hops,
                {{ dbt.concat(['customer_id', "' -> '", 'merged_into']) }} as path
            from links
            union all
            select
                walk.tenant_id,
                walk.start_id,
                links.merged_into as current_id,
                walk.hops + 1 as hops,
                {{ dbt.concat(['walk.path', "' -> '", 'links.merged_into']) }} as path
            from walk
            inner join links
                on links.tenant_id = walk.tenant_id
                and links.customer_id = walk.current_id
            where walk.current_id <> walk.start_id
                and walk.hops < 100
        )
        select * from walk
    ) as walk_rows
),

cycles as (
    select tenant_id, start_id, max(path) as cycle_path
    from walks
    where current_id = start_id
    group by tenant_id, start_id
),

-- whether each link applies (it is not part of a cycle), and where each walk's chain ends:
-- at the first customer on it whose own merge does not apply. (No `left join ... where
-- x is null` here: DuckDB 2.0.0 returned no rows for such an anti-join once it was joined
-- again below; a `case` inside the aggregate gives the same answer.)
link_cycles as (
    select links.tenant_id, links.customer_id, cycles.cycle_path
    from links
    left join cycles
        on cycles.tenant_id = links.tenant_id
        and cycles.start_id = links.customer_id
),

survivors as (
    select
        walks.tenant_id,
        walks.start_id,
        min(case
            when link_cycles.customer_id is null or link_cycles.cycle_path is not null then walks.hops
        end) as survivor_hops
    from walks
    left join link_cycles
        on link_cycles.tenant_id = walks.tenant_id
        and link_cycles.customer_id = walks.current_id
    group by walks.tenant_id, walks.start_id
),

final as (
    select
        merges.tenant_id,
        merges.customer_id,
        merges.merged_into,
        merges.merged_at,
        case when merges.own_problem is null and cycles.start_id is null then walks.current_id end as survivor_id,
        case
            when merges.own_problem is not null then merges.own_problem
            when cycles.start_id is not null
                then {{ dbt.concat(["'merge cycle '", 'cycles.cycle_path', "'; the merge is ignored'"]) }}
        end as merge_problem
    from merges
    left join cycles
        on cycles.tenant_id = merges.tenant_id
        and cycles.start_id = merges.customer_id
    left join survivors
        on survivors.tenant_id = merges.tenant_id
        and survivors.start_id = merges.customer_id
    left join walks
        on walks.tenant_id = survivors.tenant_id
        and walks.start_id = survivors.start_id
        and walks.hops = survivors.survivor_hops
)

select * from final
