{#- Account status as validity ranges: one row per period a status (and label) held, from
    the customer's creation on. `valid_to` is exclusive; NULL = still holds. Each range
    carries the "last updated on / by" of the change that started it. A change superseded
    at the same instant leaves no (zero-length) range. -#}
with

-- a per-customer model (macros/per_customer.sql): each customer's ranges come from its own
-- applied changes only
changes as (
    {{ customer_status.touched_rows(ref('int_account_status_events'), 'events') }}
    where events.outcome = 'applied'
),

ranges as (
    select
        tenant_id,
        customer_id,
        account_status,
        status_label,
        reason as account_status_reason,
        requested_at as valid_from,
        lead(requested_at) over (
            partition by tenant_id, customer_id order by step
        ) as valid_to,
        requested_at as account_status_updated_at,
        actor as account_status_updated_by,
        source as account_status_source,
        request_id,
        archived_by_merge
    from changes
),

final as (
    -- two changes at the same instant: the later one (by step) is the one that holds
    select * from ranges
    where valid_to is null or valid_to > valid_from
)

select * from final
