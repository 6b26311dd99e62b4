{#- Suppression (rules §6 rule 2) as local-date ranges per customer: the customer's email is on
    the tenant's blocklist (`suppressed_email`), or its email domain or a parent domain is a
    suppressed domain (`suppressed_domain`: `amazon.com` covers `eu.amazon.com`), from the
    entry's `added_at` until its `removed_at`. A standing rule: only removing the entry
    lifts it, or the customer's email changing to one the entry does not cover.

    The email is history (rules §1, `int_customer_attribute_intervals`): an entry matches an
    email only while that email is the customer's, so an email moved into a suppressed domain
    on day X suppresses from X on, never before. -#}
with

suppressions as (
    select
        tenant_id,
        lower(trim(kind)) as kind,
        lower(trim(value)) as value,
        added_at,
        removed_at,
        actor,
        reason
    from {{ ref('stg_landing__suppressions') }}
),

attribute_intervals as (
    -- the touched customers' versions (the suppression list itself is read whole)
    {{ customer_status.touched_rows(ref('int_customer_attribute_intervals'), 'attributes') }}
    where attributes.email is not null
),

email_intervals as (
-- each run of days with one email (a phone or consent change in between is no boundary)
    {{ customer_status.coalesce_intervals(
        'attribute_intervals', ['tenant_id', 'customer_id', 'email', 'email_domain']
    ) }}
),

customers as (
    select
        email_intervals.*,
        enriched.timezone
    from email_intervals
    inner join {{ ref('int_customers_enriched') }} as enriched
        on email_intervals.tenant_id = enriched.tenant_id
            and email_intervals.customer_id = enriched.customer_id
),

email_domains as (
    select distinct
        tenant_id,
        email_domain
    from customers
),

suppressed_domains as (
    -- the customers' domains that a suppressed domain covers (itself or a parent domain).
    -- Matched on the few distinct domains, then joined to customers on equality: an OR or
    -- suffix condition in the join with customers is one comparison per customer and entry
    -- (49 s at 10M customers)
    select
        email_domains.email_domain,
        suppressions.*
    from email_domains
    inner join suppressions
        on email_domains.tenant_id = suppressions.tenant_id
            and suppressions.kind = 'domain'
            and (
                email_domains.email_domain = suppressions.value
                or {{ dbt.right('email_domains.email_domain', dbt.length('suppressions.value') ~ ' + 1') }}
                = {{ dbt.concat(["'.'", 'suppressions.value']) }}
            )
),

matches as (
    select
        customers.tenant_id,
        customers.customer_id,
        customers.timezone,
        customers.from_date as email_from_date,
        customers.to_date as email_to_date,
        'suppressed_email' as fact,
        suppressions.value,
        suppressions.added_at,
        suppressions.removed_at,
        suppressions.actor,
        suppressions.reason
    from customers
    inner join suppressions
        on customers.tenant_id = suppressions.tenant_id
            and customers.email = suppressions.value
    where suppressions.kind = 'email'
    union all
    select
        customers.tenant_id,
        customers.customer_id,
        customers.timezone,
        customers.from_date as email_from_date,
        customers.to_date as email_to_date,
        'suppressed_domain' as fact,
        suppressed_domains.value,
        suppressed_domains.added_at,
        suppressed_domains.removed_at,
        suppressed_domains.actor,
        suppressed_domains.reason
    from customers
    inner join suppressed_domains
        on customers.tenant_id = suppressed_domains.tenant_id
            and customers.email_domain = suppressed_domains.email_domain
),

entry_dated as (
    select
        matches.*,
        {{ customer_status.local_date('added_at', 'timezone') }} as entry_from_date,
        {{ customer_status.local_date('removed_at', 'timezone') }} as entry_to_date
    from matches
),

intersected as (
    -- the days on which the entry is listed and the email is the customer's
    select
        entry_dated.*,
        case when email_from_date > entry_from_date then email_from_date else entry_from_date end as from_date,
        case
            when entry_to_date is null then email_to_date
            when email_to_date is null then entry_to_date
            when email_to_date < entry_to_date then email_to_date
            else entry_to_date
        end as to_date,
        email_to_date is not null and (entry_to_date is null or email_to_date < entry_to_date) as ended_by_email_change
    from entry_dated
),

final as (
    select
        tenant_id,
        customer_id,
        fact,
        value,
        from_date,
        to_date,
        {{ dbt.concat([
            "case fact when 'suppressed_email' then 'email on the blocklist' else 'email domain suppressed' end",
            "' ('", 'value', "')'",
            "case when reason is not null then " ~ dbt.concat(["': '", 'reason']) ~ " else '' end"
        ]) }} as reason,
        coalesce(actor, 'system') as actor,
        'suppressions' as source,
        case
            when ended_by_email_change
                then {{ dbt.concat(["'email changed (no longer covered by '", 'value', "')'"]) }}
            else {{ dbt.concat(["'removed from the suppression list ('", 'value', "')'"]) }}
        end as end_reason,
        'system' as end_actor,
        case when ended_by_email_change then 'customers' else 'suppressions' end as end_source
    from intersected
    where to_date is null or to_date > from_date
)

select * from final
