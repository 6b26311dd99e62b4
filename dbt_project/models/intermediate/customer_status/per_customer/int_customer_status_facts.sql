{#- Every fact the status rules read, in one shape: a local-date range [from_date, to_date)
    (to_date NULL = still holds) per customer, with why it started (reason, actor, source)
    and, where known, why it ended (end_reason, end_actor, end_source). The engine
    (`int_customer_status_segments`) cuts each customer's life at every range boundary and
    evaluates the rules once per segment.

    | fact | from | rule |
    |---|---|---|
    | account | account-status ranges | §4, §6.1 |
    | subscription_live / subscription_had | subscription events | §3.1, §3.3 |
    | payment_in_window / payment_ever / payment_refunded | counting payments | §3.2, §3.4 |
    | suppressed_email / suppressed_domain | suppressions | §6.2 |
    | deactivated | deactivate actions and imports | §6.3 |
    | sunset | no touch for sunset_after_days | §6.4 |
    | accepts_marketing | customer versions that accept marketing | §1, §7 |
    | erased | the customer's accepted erasure request, from its local date | §6.1, §12 | -#}
with

account as (
    select * from {{ ref('int_account_status_date_intervals') }}
),

subscriptions as (
    select * from {{ ref('int_subscription_intervals') }}
),

payments as (
    select * from {{ ref('int_lifecycle_payment_intervals') }}
),

suppressions as (
    select * from {{ ref('int_member_suppression_intervals') }}
),

deactivations as (
    select * from {{ ref('int_member_deactivation_intervals') }}
),

sunsets as (
    select * from {{ ref('int_member_sunset_intervals') }}
),

attribute_intervals as (
    select * from {{ ref('int_customer_attribute_intervals') }}
    where accepts_marketing
),

erasures as (
    select * from {{ ref('int_erasure_requests') }}
    where outcome = 'erased'
),

marketing_consent as (
    -- the days the customer's current version accepts marketing (rules §1: from the version's
    -- own day on); a change of another attribute in between is no boundary
    {{ customer_status.coalesce_intervals('attribute_intervals', ['tenant_id', 'customer_id']) }}
),

final as (
    select
        tenant_id,
        customer_id,
        'account' as fact,
        account_status as value,
        status_label as detail,
        from_date,
        to_date,
        account_status_reason as reason,
        account_status_updated_by as actor,
        account_status_source as source,
        account_status_updated_at as changed_at,
        cast(null as {{ dbt.type_string() }}) as end_reason,
        cast(null as {{ dbt.type_string() }}) as end_actor,
        cast(null as {{ dbt.type_string() }}) as end_source
    from account
    union all
    select
        tenant_id,
        customer_id,
        fact,
        subscription_id as value,
        cast(null as {{ dbt.type_string() }}) as detail,
        from_date,
        to_date,
        {{ dbt.concat(["'subscription '", 'subscription_id']) }} as reason,
        'system' as actor,
        'behaviour' as source,
        cast(null as {{ dbt.type_timestamp() }}) as changed_at,
        null as end_reason,
        null as end_actor,
        null as end_source
    from subscriptions
    union all
    select
        tenant_id,
        customer_id,
        fact,
        order_id as value,
        cast(null as {{ dbt.type_string() }}) as detail,
        from_date,
        to_date,
        {{ dbt.concat(["'order '", 'order_id']) }} as reason,
        'system' as actor,
        'behaviour' as source,
        cast(null as {{ dbt.type_timestamp() }}) as changed_at,
        null as end_reason,
        null as end_actor,
        null as end_source
    from payments
    union all
    select
        tenant_id,
        customer_id,
        fact,
        value,
        cast(null as {{ dbt.type_string() }}) as detail,
        from_date,
        to_date,
        reason,
        actor,
        source,
        cast(null as {{ dbt.type_timestamp() }}) as changed_at,
        end_reason,
        end_actor,
        end_source
    from suppressions
    union all
    select
        tenant_id,
        customer_id,
        'deactivated' as fact,
        action_id as value,
        cast(null as {{ dbt.type_string() }}) as detail,
        from_date,
        to_date,
        reason,
        actor,
        source,
        cast(null as {{ dbt.type_timestamp() }}) as changed_at,
        end_reason,
        end_actor,
        end_source
    from deactivations
    union all
    select
        tenant_id,
        customer_id,
        'sunset' as fact,
        cast(null as {{ dbt.type_string() }}) as value,
        cast(null as {{ dbt.type_string() }}) as detail,
        from_date,
        to_date,
        reason,
        'system' as actor,
        'behaviour' as source,
        cast(null as {{ dbt.type_timestamp() }}) as changed_at,
        end_reason,
        end_actor,
        end_source
    from sunsets
    union all
    select
        tenant_id,
        customer_id,
        'accepts_marketing' as fact,
        cast(null as {{ dbt.type_string() }}) as value,
        cast(null as {{ dbt.type_string() }}) as detail,
        from_date,
        to_date,
        'accepts marketing' as reason,
        'system' as actor,
        'customers' as source,
        cast(null as {{ dbt.type_timestamp() }}) as changed_at,
        'marketing consent withdrawn' as end_reason,
        'system' as end_actor,
        'customers' as end_source
    from marketing_consent
    union all
    select
        tenant_id,
        customer_id,
        'erased' as fact,
        request_id as value,
        cast(null as {{ dbt.type_string() }}) as detail,
        requested_date as from_date,
        cast(null as date) as to_date,
        {{ dbt.concat(["'erased on request '", 'request_id', "': '", 'reason']) }} as reason,
        actor,
        'erasure_requests' as source,
        cast(null as {{ dbt.type_timestamp() }}) as changed_at,
        null as end_reason,
        null as end_actor,
        null as end_source
    from erasures
)

{{ customer_status.touched_rows('final', 'final') }}
where final.to_date is null or final.to_date > final.from_date
