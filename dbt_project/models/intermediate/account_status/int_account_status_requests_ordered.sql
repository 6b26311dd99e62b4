{#- The requests that can apply, numbered per customer in the order they apply
    (`requested_at`, ties by request id). A table of its own so that the recursive fold in
    `int_account_status_events` joins a ready numbering at each step instead of re-reading
    and re-numbering every request at every step (5x faster at 1M actions; see
    benchmarks/account_status_fold.md). -#}
with

requests as (
    select * from {{ ref('int_account_status_requests') }}
    where request_error is null
),

final as (
    select
        requests.*,
        row_number() over (
            partition by tenant_id, customer_id
            order by requested_at, request_id
        ) as step
    from requests
)

select * from final
