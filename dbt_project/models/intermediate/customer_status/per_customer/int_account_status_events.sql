{#- The account-status state machine (rules §4) as a fold over each customer's requests.

    Whether a request applies depends on the state left by the requests that applied before
    it, so this is a fold, not a window: a recursive CTE takes one step per request and
    carries (status, label, archived by a merge) forward. Each recursion step joins all
    customers at once, so the number of steps is the longest request history of any one
    customer, not the number of requests.

    Step 0 is creation: `internal` when the email domain is one of the tenant's
    `internal_email_domains`, else `active` (actor `system`). Requests apply in
    `requested_at` order, ties by request id. The verdict of each request is one `case`,
    most specific rule first; allowed pairs come from the `account_status_transitions` seed.
    A merge is not a staff transition: it archives from any status but `deleted` (even an
    already archived customer, whose reason becomes "merged into ..."), and marks the
    customer as merged for good, so no later set_status or restore makes it active.

    Portability: recursive CTEs run on DuckDB and PostgreSQL; Spark needs the same fold as a
    Python model (see DECISIONS.md). -#}
with

-- a per-customer model (macros/per_customer.sql): the fold of each customer reads only its
-- own creation, first version and requests, so an incremental build folds the touched
-- customers only (rules §4)
customers as (
    {{ customer_status.touched_rows(ref('stg_landing__customers'), 'customers') }}
),

tenants as (
    select * from {{ ref('int_tenants') }}
),

transitions as (
    select * from {{ ref('account_status_transitions') }}
),

ordered_requests as (
    {{ customer_status.touched_rows(ref('int_account_status_requests_ordered'), 'requests') }}
),

first_versions as (
    -- the customer version holding on the creation day: `internal` is decided at creation
    -- (rules §4), so a later email change never makes a customer internal before that change
    select
        versions.tenant_id,
        versions.customer_id,
        versions.email_domain
    from ({{ customer_status.touched_rows(ref('int_customer_attribute_intervals'), 'all_versions') }}) as versions
    where versions.version_number = 1
),

creations as (
    select
        customers.tenant_id,
        customers.customer_id,
        customers.created_at,
        case
            when first_versions.email_domain is not null
                and {{ dbt.position(
                    dbt.concat(["';'", 'first_versions.email_domain', "';'"]),
                    dbt.concat(["';'", "replace(tenants.internal_email_domains, ' ', '')", "';'"])
                ) }} > 0
                then 'internal'
            else 'active'
        end as initial_status
    from customers
    left join tenants
        on customers.tenant_id = tenants.tenant_id
    left join first_versions
        on customers.tenant_id = first_versions.tenant_id
            and customers.customer_id = first_versions.customer_id
),

folded as (
    select * from (
        with recursive fold as (
            select
                tenant_id,
                customer_id,
                0 as step,
                'creation' as request_id,
                'creation' as request_kind,
                created_at as requested_at,
                cast(null as {{ dbt.type_string() }}) as from_status,
                cast(null as {{ dbt.type_string() }}) as from_label,
                'applied' as outcome,
                cast(null as {{ dbt.type_string() }}) as rejection_reason,
                initial_status as account_status,
                initial_status as status_label,
                false as archived_by_merge,
                case initial_status
                    when 'internal' then 'internal email domain'
                    else 'customer created'
                end as reason,
                'system' as actor,
                'system' as source
            from creations

            union all

            select
                tenant_id,
                customer_id,
                step,
                request_id,
                request_kind,
                requested_at,
                from_status,
                from_label,
                outcome,
                rejection_reason,
                case when outcome = 'applied' then target_status else from_status end as account_status,
                case when outcome = 'applied' then target_label else from_label end as status_label,
                archived_by_merge or request_kind = 'merge' as archived_by_merge,
                reason,
                actor,
                source
            from (
                select
                    *,
                    case when rejection_reason is not null then 'rejected' else verdict end as outcome
                from (
                    select
                        fold.tenant_id,
                        fold.customer_id,
                        next_request.step,
                        next_request.request_id,
                        next_request.request_kind,
                        next_request.requested_at,
                        next_request.target_status,
                        next_request.target_label,
                        next_request.reason,
                        next_request.actor,
                        next_request.source,
                        fold.account_status as from_status,
                        fold.status_label as from_label,
                        fold.archived_by_merge,
                        case
                            when fold.archived_by_merge
                                and next_request.request_kind in ('restore', 'set_status')
                                and next_request.target_status = 'active'
                                then 'archived by a merge: it cannot be reactivated or restored'
                            when next_request.request_kind = 'restore' and fold.account_status <> 'deleted'
                                then {{ dbt.concat([
                                "'restore applies only to deleted customers (status is '", 'fold.account_status', "')'"
                            ]) }}
                            when next_request.request_kind = 'restore'
                                then null
                            when fold.account_status = 'deleted' and next_request.target_status <> 'deleted'
                                then 'deleted is final: only a restore, where the tenant allows it, '
                                    || 'brings a customer back'
                            when fold.account_status = next_request.target_status
                                then null
                            when next_request.request_kind = 'merge'
                                then null
                            when next_request.target_status = 'fraud_confirmed'
                                and fold.account_status <> 'fraud_suspected'
                                then {{ dbt.concat([
                                "'fraud can be confirmed only after it was suspected (status is '",
                                'fold.account_status',
                                "')'"
                            ]) }}
                            when not coalesce(transitions.is_allowed, false)
                                then {{ dbt.concat([
                                "'transition not allowed from '", 'fold.account_status',
                                "' to '", 'next_request.target_status'
                            ]) }}
                        end as rejection_reason,
                        case
                            when fold.account_status = next_request.target_status
                                and fold.status_label = next_request.target_label
                                and next_request.request_kind <> 'merge'
                                then 'no_change'
                            else 'applied'
                        end as verdict
                    from fold
                    inner join ordered_requests as next_request
                        on fold.tenant_id = next_request.tenant_id
                            and fold.customer_id = next_request.customer_id
                            and next_request.step = fold.step + 1
                    left join transitions
                        on fold.account_status = transitions.from_status
                            and next_request.target_status = transitions.to_status
                ) as judged
            ) as decided
        )

        select * from fold
    ) as fold_rows
),

final as (
    -- the columns of the anchor row above: customer, step, request, from, outcome, new state
    select * from folded
)

select * from final
