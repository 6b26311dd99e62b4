{#- Published: every erased customer (rules §12), without personal data: the request that
    erased it (its first accepted one), when it was requested and the local date it counts
    from, the run that carried it out, who asked and why, and how many later requests for
    the same customer changed nothing. Not clipped at the as-of date: the personal data is
    gone from every table whatever the date a night computes. -#}
with

requests as (
    select * from {{ ref('int_erasure_requests') }}
),

later as (
    select
        tenant_id,
        customer_id,
        count(*) as later_requests
    from requests
    where outcome = 'no_change'
    group by tenant_id, customer_id
),

final as (
    select
        requests.tenant_id,
        requests.customer_id,
        requests.request_id,
        requests.requested_at,
        requests.erased_by_run,
        requests.actor,
        requests.reason,
        requests.requested_date as erased_from_date,
        coalesce(later.later_requests, 0) as later_requests
    from requests
    left join later
        on requests.tenant_id = later.tenant_id
            and requests.customer_id = later.customer_id
    where requests.outcome = 'erased'
)

select * from final
