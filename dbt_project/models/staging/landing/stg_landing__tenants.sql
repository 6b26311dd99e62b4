{#- The current version of every tenant row, typed. Settings left empty stay NULL here: the
    defaults are applied once, by `int_tenants` (seed `tenant_defaults`). -#}
with

versions as (
    {{ latest_version(source('landing', 'tenants'), ['tenant_id'], 'updated_at') }}
),

final as (
    select
        tenant_id,
        name as tenant_name,
        timezone,
        activity_window_days,
        reactivation_trigger,
        billing_basis,
        send_to_accept_marketing_only,
        deleted_can_be_restored,
        suspended_blocks_redemption,
        sunset_after_days,
        lower(internal_email_domains) as internal_email_domains,
        max_billable_swing,
        max_reject_ratio,
        updated_at
    from versions
)

select * from final
