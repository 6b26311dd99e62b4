with

versions as (
    {{ latest_version(source('landing', 'engagement_events'), ['tenant_id', 'event_id']) }}
),

final as (
    select tenant_id, event_id, customer_id, lower(channel) as channel,
        lower(event_type) as event_type, occurred_at
    from versions
)

select * from final
