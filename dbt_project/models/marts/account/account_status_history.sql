{#- Published (an addition to CONTRACT.md's tables): each customer's account status as
    validity ranges of instants (UTC), with the reason and "last updated on / by" of the
    change that started each range -- the account-status log (SPEC §4, §9). `valid_to` is
    exclusive; NULL = still holds. -#}
with

intervals as (
    select * from {{ ref('int_account_status_intervals') }}
),

final as (
    select
        tenant_id,
        customer_id,
        valid_from,
        valid_to,
        account_status,
        status_label,
        account_status_reason,
        account_status_updated_at,
        account_status_updated_by,
        account_status_source
    from intervals
)

select * from final
