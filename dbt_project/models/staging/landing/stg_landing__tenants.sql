with

versions as (
    {{ latest_version(source('landing', 'tenants'), ['tenant_id'], 'updated_at') }}
),

final as (
    select
        tenant_id,
        name as tenant_name,
        coalesce(timezone, '{{ var("customer_status__default_timezone") }}') as timezone,
        coalesce(
            activity_window_days, {{ var("customer_status__default_activity_window_days") }}
        ) as activity_window_days,
        coalesce(
            reactivation_trigger, '{{ var("customer_status__default_reactivation_trigger") }}'
        ) as reactivation_trigger,
        coalesce(
            billing_basis, '{{ var("customer_status__default_billing_basis") }}'
        ) as billing_basis,
        coalesce(send_to_accept_marketing_only, false) as send_to_accept_marketing_only,
        coalesce(deleted_can_be_restored, false) as deleted_can_be_restored,
        coalesce(suspended_blocks_redemption, false) as suspended_blocks_redemption,
        sunset_after_days,
        lower(coalesce(internal_email_domains, '')) as internal_email_domains,
        coalesce(
            max_billable_swing, {{ var("customer_status__default_max_billable_swing") }}
        ) as max_billable_swing,
        coalesce(
            max_reject_ratio, {{ var("customer_status__default_max_reject_ratio") }}
        ) as max_reject_ratio,
        updated_at
    from versions
)

select * from final
