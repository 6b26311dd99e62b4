{#- Suppression (SPEC §6 rule 2) as local-date ranges per customer: the customer's email is on
    the tenant's blocklist (`suppressed_email`), or its email domain or a parent domain is a
    suppressed domain (`suppressed_domain`: `amazon.com` covers `eu.amazon.com`), from the
    entry's `added_at` until its `removed_at`. A standing rule: only removing the entry
    lifts it. -#}
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

customers as (
    select * from {{ ref('int_customers_enriched') }}
    where email is not null
),

email_domains as (
    select distinct tenant_id, email_domain from customers
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
        on suppressions.tenant_id = email_domains.tenant_id
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
        'suppressed_email' as fact,
        suppressions.value,
        suppressions.added_at,
        suppressions.removed_at,
        suppressions.actor,
        suppressions.reason
    from customers
    inner join suppressions
        on suppressions.tenant_id = customers.tenant_id
        and suppressions.value = customers.email
    where suppressions.kind = 'email'
    union all
    select
        customers.tenant_id,
        customers.customer_id,
        customers.timezone,
        'suppressed_domain' as fact,
        suppressed_domains.value,
        suppressed_domains.added_at,
        suppressed_domains.removed_at,
        suppressed_domains.actor,
        suppressed_domains.reason
    from customers
    inner join suppressed_domains
        on suppressed_domains.tenant_id = customers.tenant_id
        and suppressed_domains.email_domain = customers.email_domain
),

final as (
    select
        tenant_id,
        customer_id,
        fact,
        value,
        {{ customer_status.local_date('added_at', 'timezone') }} as from_date,
        {{ customer_status.local_date('removed_at', 'timezone') }} as to_date,
        {{ dbt.concat([
            "case fact when 'suppressed_email' then 'email on the blocklist' else 'email domain suppressed' end",
            "' ('", 'value', "')'",
            "case when reason is not null then " ~ dbt.concat(["': '", 'reason']) ~ " else '' end"
        ]) }} as reason,
        coalesce(actor, 'system') as actor,
        'suppressions' as source,
        {{ dbt.concat(["'removed from the suppression list ('", 'value', "')'"]) }} as end_reason,
        'system' as end_actor,
        'suppressions' as end_source
    from matches
)

select * from final
