{#- Published: every billing figure that a run changed after an earlier run had published it
    (late data), with old and new value, the run and when (rules §7). Append-only: the rows
    already published are carried forward, and this run adds the figures where its value
    differs from the published one:

    - daily `billable_customers`, for days both had computed;
    - monthly `month_end_billable`, `peak_billable`, `average_billable` and `days_computed`,
      for months that were complete when published (an unfinished month's figures move
      every night by design: that is not a restatement).

    `grain` (`day`/`month`) is an addition; `period` is the day or the month's first day. -#}
-- reads the run's as-of date or id: rebuilt every night (plugins/customer_status/pipeline/build.py)
{{ config(tags=['as_of_date']) }}
with

already_published as (
    select * from {{ source('published', 'billing_restatements') }}
),

daily_then as (
    select * from {{ source('published', 'billable_counts_daily') }}
),

daily_now as (
    select * from {{ ref('billable_counts_daily') }}
),

monthly_then as (
    select * from {{ source('published', 'billing_monthly') }}
    where is_complete
),

monthly_now as (
    select * from {{ ref('billing_monthly') }}
),

daily_changes as (
    select
        daily_now.tenant_id,
        'day' as grain,
        daily_now.date as period,
        'billable_customers' as metric,
        cast(daily_then.billable_customers as {{ dbt.type_numeric() }}) as old_value,
        cast(daily_now.billable_customers as {{ dbt.type_numeric() }}) as new_value
    from daily_now
    inner join daily_then
        on daily_now.tenant_id = daily_then.tenant_id
            and daily_now.date = daily_then.date
    where daily_then.billable_customers <> daily_now.billable_customers
),

monthly_pairs as (
    select
        monthly_now.tenant_id,
        monthly_now.month,
        monthly_then.month_end_billable as old_month_end,
        monthly_now.month_end_billable as new_month_end,
        monthly_then.peak_billable as old_peak,
        monthly_now.peak_billable as new_peak,
        monthly_then.average_billable as old_average,
        monthly_now.average_billable as new_average,
        monthly_then.days_computed as old_days,
        monthly_now.days_computed as new_days
    from monthly_now
    inner join monthly_then
        on monthly_now.tenant_id = monthly_then.tenant_id
            and monthly_now.month = monthly_then.month
),

monthly_changes as (
    {%- set metrics = [
    ('month_end_billable', 'month_end'),
    ('peak_billable', 'peak'),
    ('average_billable', 'average'),
    ('days_computed', 'days'),
] %}
    {%- for metric, column in metrics %}
    select
        tenant_id,
        'month' as grain,
        month as period,
        '{{ metric }}' as metric,
        cast(old_{{ column }} as {{ dbt.type_numeric() }}) as old_value,
        cast(new_{{ column }} as {{ dbt.type_numeric() }}) as new_value
    from monthly_pairs
    where old_{{ column }} <> new_{{ column }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

{% set run_id = customer_status.run_parameter("run_id", "manual") %}
{% set run_started_at = customer_status.run_parameter("run_started_at", "1970-01-01 00:00:00") %}

this_run as (
    select
        tenant_id,
        period,
        metric,
        old_value,
        new_value,
        '{{ run_id }}' as restated_by_run,
        cast(
            '{{ run_started_at }}'
            as {{ dbt.type_timestamp() }}
        ) as restated_at,
        grain
    from (
        select * from daily_changes
        union all
        select * from monthly_changes
    ) as changes
),

final as (
    select
        tenant_id,
        period,
        metric,
        old_value,
        new_value,
        restated_by_run,
        restated_at,
        grain
    from already_published
    union all
    select * from this_run
)

select * from final
