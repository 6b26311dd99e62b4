{#- Every merge (`customers.merged_into` + `merged_at`), its final survivor (chains of merges
    resolve: A -> B -> C gives C for A and B), and whether it can apply: a merge into an
    unknown customer, into itself, dated before the customer was created, or that is part of
    a cycle (A -> B -> A) is bad input and
    is ignored, with the reason (published in `import_rejects`). The walk is a recursive
    CTE bounded at 100 hops. -#}
with

customers as (
    select * from {{ ref('stg_landing__customers') }}
),

merges as (
    select tenant_id, customer_id, merged_into, merged_at, created_at
    from customers
    where merged_into is not null
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
            from merges
            union all
            select
                walk.tenant_id,
                walk.start_id,
                merges.merged_into as current_id,
                walk.hops + 1 as hops,
                {{ dbt.concat(['walk.path', "' -> '", 'merges.merged_into']) }} as path
            from walk
            inner join merges
                on merges.tenant_id = walk.tenant_id
                and merges.customer_id = walk.current_id
            where walk.current_id <> walk.start_id
                and walk.hops < 100
        )
        select * from walk
    ) as walk_rows
),

walk_ends as (
    select
        tenant_id,
        start_id,
        max(case when current_id = start_id then path end) as cycle_path,
        max(hops) as chain_length
    from walks
    group by tenant_id, start_id
),

survivors as (
    select walks.tenant_id, walks.start_id, walks.current_id as survivor_id
    from walks
    inner join walk_ends
        on walk_ends.tenant_id = walks.tenant_id
        and walk_ends.start_id = walks.start_id
        and walk_ends.chain_length = walks.hops
),

final as (
    select
        merges.tenant_id,
        merges.customer_id,
        merges.merged_into,
        merges.merged_at,
        case
            when walk_ends.cycle_path is null and not coalesce(merges.merged_at < merges.created_at, false)
                then survivors.survivor_id
        end as survivor_id,
        case
            when merges.merged_into = merges.customer_id
                then 'merged into itself; the merge is ignored'
            when targets.customer_id is null
                then {{ dbt.concat(["'merged into unknown customer '", 'merges.merged_into', "'; the merge is ignored'"]) }}
            when walk_ends.cycle_path is not null
                then {{ dbt.concat(["'merge cycle '", 'walk_ends.cycle_path', "'; the merge is ignored'"]) }}
            when merges.merged_at < merges.created_at
                then 'merged before the customer was created; the merge is ignored'
        end as merge_problem
    from merges
    left join customers as targets
        on targets.tenant_id = merges.tenant_id
        and targets.customer_id = merges.merged_into
    left join walk_ends
        on walk_ends.tenant_id = merges.tenant_id
        and walk_ends.start_id = merges.customer_id
    left join survivors
        on survivors.tenant_id = merges.tenant_id
        and survivors.start_id = merges.customer_id
)

select * from final
