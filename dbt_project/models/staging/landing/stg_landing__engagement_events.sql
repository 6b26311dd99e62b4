{#- Engagement events: by far the biggest source (about 90 % of landed rows), append-only in
    practice, and without `updated_at` (a repeated key: the later arrival wins). Incremental:
    a night stages only the rows loaded since the last build (`_load_id`) and replaces any
    earlier version of the same keys (delete+insert; on Spark the table is overwritten whole:
    macros/cross_engine/portable.sql). Unlike the other staging models it keeps
    the rows of undeclared tenants (rules §1, held): a row skipped here would never be staged
    again once later loads pass its `_load_id`. The status engine reads engagement only
    through its customers (`int_reactivating_events`), who are declared ones only. -#}
{{ config(
    materialized='incremental',
    unique_key=['tenant_id', 'event_id'],
    incremental_strategy=customer_status.replace_keys_strategy()
) }}
{%- set new_loads_only = '_load_id > (select coalesce(max(_load_id), -1) from ' ~ this ~ ')' %}
with

versions as (
    -- a key repeats only when an event is sent again (ingestion drops repeats within a file):
    -- only those keys go through the window (a window over every row spilled at 10M customers)
    {{ latest_version(
        source('landing', 'engagement_events'), ['tenant_id', 'event_id'], only_repeated_keys=true,
        where=new_loads_only if customer_status.stages_new_rows_only() else none
    ) }}
),

final as (
    select tenant_id, event_id, customer_id, lower(channel) as channel,
        lower(event_type) as event_type, occurred_at, _load_id
    from versions
)

select * from final
