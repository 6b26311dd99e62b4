{#- Every declared tenant with its settings, empty settings replaced by the defaults in the
    seed `tenant_defaults` (rules §1): the one place tenant defaults are applied. Every model
    that reads a tenant setting reads it here; ingestion reads the same seed for
    `max_reject_ratio` (it runs before dbt). -#}
with

tenants as (
    select * from {{ ref('stg_landing__tenants') }}
),

defaults as (
    select * from {{ ref('tenant_defaults') }}
),

final as (
    select
        tenants.tenant_id,
        tenants.tenant_name,
        coalesce(tenants.timezone, defaults.timezone) as timezone,
        coalesce(tenants.activity_window_days, defaults.activity_window_days) as activity_window_days,
        coalesce(tenants.reactivation_trigger, defaults.reactivation_trigger) as reactivation_trigger,
        coalesce(tenants.billing_basis, defaults.billing_basis) as billing_basis,
        coalesce(
            tenants.send_to_accept_marketing_only, defaults.send_to_accept_marketing_only
        ) as send_to_accept_marketing_only,
        coalesce(tenants.deleted_can_be_restored, defaults.deleted_can_be_restored) as deleted_can_be_restored,
        coalesce(
            tenants.suspended_blocks_redemption, defaults.suspended_blocks_redemption
        ) as suspended_blocks_redemption,
        -- NULL = no sunset (rules §6): not a default
        tenants.sunset_after_days,
        -- empty = no internal domain
        coalesce(tenants.internal_email_domains, '') as internal_email_domains,
        coalesce(tenants.max_billable_swing, defaults.max_billable_swing) as max_billable_swing,
        coalesce(tenants.max_reject_ratio, defaults.max_reject_ratio) as max_reject_ratio,
        tenants.updated_at
    from tenants
    cross join defaults
)

select * from final
