{#- Manual member-status actions (rules §6 rule 3), one row each, with their outcome:
    `activate` / `deactivate` status actions (staff, bulk, API) and every loaded row of every
    CSV status import (source `csv_import`, actor `import:<file name>`).

    An import row finds its customer by `Customer ID`, else `Code`, else `Email` (emails
    case-insensitive); a key that matches no customer, or more than one, is rejected. It
    takes effect at `Effective At`, else at the last instant of the as-of date (tenant time
    zone) of the run that first loaded the file (recorded at load, so rebuilds agree).

    Outcome here: `rejected` (with why) when it can never apply, else `accepted`. Whether an
    accepted action changed anything (`applied`) or not (`no_change`) depends on the member's
    state at the time and is decided by the status engine (`int_member_action_outcomes`). -#}
with

customers as (
    select * from {{ ref('stg_landing__customers') }}
),

tenants as (
    select * from {{ ref('int_tenants') }}
),

staff_actions as (
    select * from {{ ref('stg_landing__status_actions') }}
    where action in ('activate', 'deactivate')
),

import_rows as (
    select * from {{ ref('stg_landing__status_imports') }}
),

codes as (
    select
        tenant_id,
        code,
        count(*) as matches,
        min(customer_id) as customer_id
    from customers
    where code is not null
    group by tenant_id, code
),

emails as (
    select
        tenant_id,
        email,
        count(*) as matches,
        min(customer_id) as customer_id
    from customers
    where email is not null
    group by tenant_id, email
),

from_staff as (
    select
        staff_actions.tenant_id,
        staff_actions.action_id,
        staff_actions.customer_id,
        staff_actions.action,
        staff_actions.requested_at,
        staff_actions.reason,
        staff_actions.actor,
        staff_actions.source,
        case
            when customers.customer_id is null
                then {{ dbt.concat(["'unknown customer '", 'staff_actions.customer_id']) }}
            when staff_actions.reason is null or trim(staff_actions.reason) = ''
                then 'missing reason'
            when staff_actions.actor is null or trim(staff_actions.actor) = ''
                then 'missing actor'
            when staff_actions.requested_at < customers.created_at
                then 'requested before the customer was created'
        end as request_error
    from staff_actions
    left join customers
        on staff_actions.tenant_id = customers.tenant_id
            and staff_actions.customer_id = customers.customer_id
),

from_imports as (
    select
        import_rows.tenant_id,
        import_rows.action_id,
        case
            when import_rows.customer_id is not null then by_id.customer_id
            when import_rows.code is not null and codes.matches = 1 then codes.customer_id
            when import_rows.code is null and emails.matches = 1 then emails.customer_id
        end as customer_id,
        import_rows.action,
        coalesce(
            import_rows.effective_at,
            {{ customer_status.end_of_local_day('import_rows.loaded_for_as_of_date', 'tenants.timezone') }}
        ) as requested_at,
        coalesce(import_rows.reason, 'CSV status import') as reason,
        {{ dbt.concat(["'import:'", 'import_rows.source_file_name']) }} as actor,
        'csv_import' as source,
        case
            when import_rows.customer_id is not null and by_id.customer_id is null
                then {{ dbt.concat(["'unknown customer '", 'import_rows.customer_id']) }}
            when import_rows.customer_id is null and import_rows.code is not null
                and codes.matches is null
                then {{ dbt.concat(["'no customer has code '", 'import_rows.code']) }}
            when import_rows.customer_id is null and import_rows.code is not null
                and codes.matches > 1
                then {{ dbt.concat([
                    "'code '", 'import_rows.code',
                    "' matches '", 'cast(codes.matches as ' ~ dbt.type_string() ~ ')', "' customers'"
                ]) }}
            when import_rows.customer_id is null and import_rows.code is null
                and emails.matches is null
                then {{ dbt.concat(["'no customer has email '", 'import_rows.email']) }}
            when import_rows.customer_id is null and import_rows.code is null
                and emails.matches > 1
                then {{ dbt.concat([
                    "'email '", 'import_rows.email',
                    "' matches '", 'cast(emails.matches as ' ~ dbt.type_string() ~ ')', "' customers'"
                ]) }}
        end as request_error
    from import_rows
    left join tenants
        on import_rows.tenant_id = tenants.tenant_id
    left join customers as by_id
        on import_rows.tenant_id = by_id.tenant_id
            and import_rows.customer_id = by_id.customer_id
    left join codes
        on import_rows.tenant_id = codes.tenant_id
            and import_rows.code = codes.code
    left join emails
        on import_rows.tenant_id = emails.tenant_id
            and import_rows.email = emails.email
),

all_actions as (
    select * from from_staff
    union all
    select * from from_imports
),

final as (
    select
        tenant_id,
        action_id,
        customer_id,
        action,
        requested_at,
        reason,
        actor,
        source,
        case when request_error is not null then 'rejected' else 'accepted' end as outcome,
        request_error as rejection_reason
    from all_actions
)

select * from final
