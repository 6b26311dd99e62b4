{#- The customers tonight's incremental status models recompute: those with any input row
    loaded since the last build of `int_customer_status_segments` (its
    `built_through_load_id`), and everyone whose statuses can depend on such a row:

    - the customer's own rows (customers, orders, subscription events, status actions,
      erasure requests, and
      engagement where the tenant's reactivation trigger is any_engagement: elsewhere
      engagement changes no status);
    - the customer an earlier version of such a row named, when tonight's version of the
      same key (an order, a subscription event, a status action) names another one: the
      record moved, so the earlier customer lost it; likewise the customer an engagement
      key sent again tonight named before (its reactivating event goes:
      `int_reactivating_events` keeps them by key);
    - merges: every customer a touched customer's history counts or counted for (the chain
      of merges of any landed version, to its end), and the customers merged into a customer
      whose row landed tonight (their merge may apply now);
    - customers sharing a code or email with a touched customer (a status import that
      matched one of them may now be ambiguous);
    - the customers that new status-import rows name (by id, code or email);
    - every customer of a tenant whose settings, labels or suppressions changed.

    `engagement_recomputed` marks the touched customers whose engagement-driven reactivating
    events are all derived again tonight (`int_reactivating_events`): a customer that appears
    tonight (no version of its row loaded before) and every customer of a tenant whose
    settings row landed (time zone, reactivation trigger, declaration). For the others only
    the engagement rows staged tonight are added (rules §6; dbt_project/DECISIONS.md).

    Without a previous build (or with --full-refresh) every customer is touched. The
    statuses of a customer are a pure function of its inputs (they do not depend on the
    as-of date: the marts clip them), so recomputing only these gives the full rebuild's
    result; tests/e2e/test_determinism.py checks that. -#}
{#- Every landing source whose new rows touch customers, named once: each is read below, and
    each `source()` call is made here whatever the build, so dbt always knows the dependency. -#}
{%- set own_row_sources = {
    'customers': source('landing', 'customers'),
    'orders': source('landing', 'orders'),
    'subscription_events': source('landing', 'subscription_events'),
    'status_actions': source('landing', 'status_actions'),
    'erasure_requests': source('landing', 'erasure_requests'),
} -%}
{#- the key of each own-row source whose record can move to another customer when it lands
    again (a subscription event's key is the subscription and its changed_at: any earlier
    event of the subscription naming another customer is enough to touch that one; the
    customers source is keyed by the customer itself; an erasure forces a full build) -#}
{%- set own_row_keys = {
    'orders': 'order_id',
    'subscription_events': 'subscription_id',
    'status_actions': 'action_id',
} -%}
{%- set engagement_source = source('landing', 'engagement_events') -%}
{%- set tenant_wide_sources = {
    'tenants': source('landing', 'tenants'),
    'status_labels': source('landing', 'status_labels'),
    'suppressions': source('landing', 'suppressions'),
} -%}
{%- set status_imports_source = source('landing', 'status_imports') -%}
{%- set full = customer_status.is_full_build() %}
{%- set walk_from = customer_status.merge_walk_id('merge_links.customer_id') %}
{%- set walk_to = customer_status.merge_walk_id('merge_links.merged_into') %}
-- the watermark is read once, by int_run_parameters (before the segments are rebuilt)
-- depends_on: {{ ref('int_run_parameters') }}

with

customers as (
    select * from {{ ref('int_customers_enriched') }}
),

{% if full %}

final as (
    select
        tenant_id,
        customer_id,
        true as engagement_recomputed
    from customers
)

{% else %}
{#- read as last built, before tonight's build replaces it (a ref would be a cycle; the unit
    tests set it to none) -#}
{%- set reactivating_events = customer_status.built_relation('int_reactivating_events') %}

watermark as (
    select last_built_load_id as load_id from {{ ref('int_run_parameters') }}
),

moved_from as (
    -- the customer named by an earlier version of a key that landed tonight naming another
    {%- for name, key in own_row_keys.items() %}
    select
        earlier.tenant_id,
        earlier.customer_id
    from {{ own_row_sources[name] }} as earlier
    inner join (
        select
            tenant_id,
            {{ key }},
            customer_id
        from {{ own_row_sources[name] }}
        where _load_id > (select load_id from watermark)
    ) as tonight
        on earlier.tenant_id = tonight.tenant_id
            and earlier.{{ key }} = tonight.{{ key }}
    -- any other version (one landed tonight too names a customer touched anyway); tonight's
    -- rows as a derived table, unfiltered `earlier`: 0.2 s instead of 1.2 s for the orders
    -- at 1M customers
    where earlier.customer_id <> tonight.customer_id
    {% if not loop.last %}union{% endif %}
    {%- endfor %}
),

{%- if reactivating_events is not none %}

previous_key_owners as (
    -- the customer whose reactivating event an engagement key staged tonight replaces, where
    -- the key now names another customer
    select
        earlier.tenant_id,
        earlier.customer_id
    from {{ reactivating_events }} as earlier
    inner join (
        select
            tenant_id,
            event_id,
            customer_id
        from {{ engagement_source }}
        where _load_id > (select load_id from watermark)
    ) as tonight
        on earlier.tenant_id = tonight.tenant_id
            and earlier.event_id = tonight.event_id
    where earlier.event_source = 'engagement'
        and earlier.customer_id <> tonight.customer_id
),
{%- endif %}

own_rows as (
    {%- for own_rows_source in own_row_sources.values() %}
    select
        tenant_id,
        customer_id
    from {{ own_rows_source }}
    where _load_id > (select load_id from watermark)
    union
    {%- endfor %}
    -- engagement only matters where it reactivates (reactivation_trigger any_engagement)
    select
        engagement.tenant_id,
        engagement.customer_id
    from {{ engagement_source }} as engagement
    inner join (
        select distinct tenant_id from customers
        where reactivation_trigger = 'any_engagement'
    ) as engaging_tenants
        on engagement.tenant_id = engaging_tenants.tenant_id
    where engagement._load_id > (select load_id from watermark)
    union
    select
        tenant_id,
        customer_id
    from moved_from
    {%- if reactivating_events is not none %}
    union
    select
        tenant_id,
        customer_id
    from previous_key_owners
    {%- endif %}
),


tenant_wide as (
    {%- for tenant_wide_source in tenant_wide_sources.values() %}
    select tenant_id from {{ tenant_wide_source }}
    where _load_id > (select load_id from watermark)
    {% if not loop.last %}union{% endif %}
    {%- endfor %}
),

-- every merge any landed version of a customer row names (older versions included: a
-- customer it no longer names lost its history tonight)
merge_links as (
    select distinct
        tenant_id,
        customer_id,
        merged_into
    from {{ own_row_sources['customers'] }}
    where merged_into is not null
),

merge_partners as (
    -- downstream: every customer a touched customer's history counted or counts for at any
    -- time, along any chain of merges, then or now. The walk never visits a customer twice
    -- (`walked`, the customers of the path so far, each between two `|`, written by
    -- merge_walk_id so that no id can match inside another), so it ends on
    -- cycles; at most 100 hops, as in int_customer_merge_owners. (`union all`: Spark has no
    -- `union` in a recursive CTE)
    select
        tenant_id,
        customer_id
    from (
        with recursive downstream as (
            select
                merge_links.tenant_id,
                merge_links.merged_into as customer_id,
                1 as hop,
                {{ dbt.concat(["'|'", walk_from, "'|'", walk_to, "'|'"]) }} as walked
            from merge_links
            inner join own_rows
                on own_rows.tenant_id = merge_links.tenant_id  -- noqa: ST09 (flagged in either order here)
                    and own_rows.customer_id = merge_links.customer_id  -- noqa: ST09
            union all
            select
                merge_links.tenant_id,
                merge_links.merged_into as customer_id,
                downstream.hop + 1 as hop,
                {{ dbt.concat(['downstream.walked', walk_to, "'|'"]) }} as walked
            from downstream
            inner join merge_links
                on downstream.tenant_id = merge_links.tenant_id
                    and downstream.customer_id = merge_links.customer_id
            where downstream.hop < 100
                and {{ dbt.position(dbt.concat(["'|'", walk_to, "'|'"]), 'downstream.walked') }} = 0
        )

        select * from downstream
    ) as downstream_rows
    union
    -- upstream, one step: a customer merged into one whose row landed tonight (a merge
    -- into an unknown customer applies once that customer lands)
    select
        merge_links.tenant_id,
        merge_links.customer_id
    from merge_links
    inner join {{ own_row_sources['customers'] }} as versions
        on merge_links.tenant_id = versions.tenant_id
            and merge_links.merged_into = versions.customer_id
    where versions._load_id > (select load_id from watermark)
),

touched_keys as (
    select
        customers.tenant_id,
        customers.code,
        customers.email
    from customers
    inner join own_rows
        on customers.tenant_id = own_rows.tenant_id
            and customers.customer_id = own_rows.customer_id
),

key_sharers as (
    -- two equi-joins, not one join on `code = ... or email = ...` (that is a nested loop)
    select
        others.tenant_id,
        others.customer_id
    from touched_keys
    inner join customers as others
        on touched_keys.tenant_id = others.tenant_id
            and touched_keys.code = others.code
    union
    select
        others.tenant_id,
        others.customer_id
    from touched_keys
    inner join customers as others
        on touched_keys.tenant_id = others.tenant_id
            and touched_keys.email = others.email
),

imported as (
    -- the customers that new status-import rows name, by id, code or email: one equi-join
    -- per key (an OR of the three in one join is a nested loop)
    {%- for key, import_key in [
        ('customer_id', 'import_rows.customer_id'),
        ('code', 'import_rows.code'),
        ('email', 'lower(import_rows.email)'),
    ] %}
    select
        customers.tenant_id,
        customers.customer_id
    from {{ status_imports_source }} as import_rows
    inner join customers
        on import_rows.tenant_id = customers.tenant_id
            and customers.{{ key }} = {{ import_key }}
    where import_rows._load_id > (select load_id from watermark)
    {% if not loop.last %}union{% endif %}
    {%- endfor %}
),

touched as (
    select
        tenant_id,
        customer_id
    from own_rows
    union
    select
        tenant_id,
        customer_id
    from merge_partners
    union
    select
        tenant_id,
        customer_id
    from key_sharers
    union
    select
        tenant_id,
        customer_id
    from imported
    union
    select
        customers.tenant_id,
        customers.customer_id
    from customers
    inner join tenant_wide
        on customers.tenant_id = tenant_wide.tenant_id
),

-- customers whose every version landed tonight: they did not exist for the last build
appeared as (
    select
        tonight.tenant_id,
        tonight.customer_id
    from {{ own_row_sources['customers'] }} as tonight
    where tonight._load_id > (select load_id from watermark)
        and not exists (
            select 1 from {{ own_row_sources['customers'] }} as before
            where before.tenant_id = tonight.tenant_id
                and before.customer_id = tonight.customer_id
                and before._load_id <= (select load_id from watermark)
        )
),

-- the tenants whose settings row landed tonight (time zone, reactivation trigger)
settings_changed as (
    select distinct tenant_id from {{ tenant_wide_sources['tenants'] }}
    where _load_id > (select load_id from watermark)
),

engagement_recomputed as (
    select
        tenant_id,
        customer_id
    from appeared
    union
    select
        customers.tenant_id,
        customers.customer_id
    from customers
    inner join settings_changed
        on customers.tenant_id = settings_changed.tenant_id
),

final as (
    select
        touched.tenant_id,
        touched.customer_id,
        engagement_recomputed.customer_id is not null as engagement_recomputed
    from touched
    left join engagement_recomputed
        on touched.tenant_id = engagement_recomputed.tenant_id
            and touched.customer_id = engagement_recomputed.customer_id
)

{% endif %}

select * from final
