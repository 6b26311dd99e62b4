{#- Every erasure request (rules §12) with what became of it:

    - `rejected`: the tenant has no such customer (`rejection_reason`); a request without a
      reason or an actor never gets here, the ingest rejects the row (`import_rejects`);
    - `erased`: the customer's first accepted request (by `requested_at`, then request id):
      from its local date (`requested_date`, tenant time zone) the customer is an inactive
      member, reason `erased` (`int_customer_status_facts`, rules §6.1);
    - `no_change`: a later request for a customer already erased (not an error).

    The personal data itself is scrubbed at ingest (plugins/customer_status/ingest/erasure.py)
    for every customer a request names; `erased_by_run` is the run that loaded the request,
    or the customer when it landed after its request (the run whose ingest scrubbed it). -#}
with

requests as (
    select * from {{ ref('stg_landing__erasure_requests') }}
),

customers as (
    select * from {{ ref('int_customers_enriched') }}
),

first_loads as (
    select
        tenant_id,
        customer_id,
        min(_load_id) as first_load_id
    from {{ source('landing', 'customers') }}
    group by tenant_id, customer_id
),

ledger as (
    select
        load_id,
        run_id
    from {{ source('landing', 'ingest_ledger') }}
),

checked as (
    select
        requests.tenant_id,
        requests.request_id,
        requests.customer_id,
        requests.requested_at,
        requests.reason,
        requests.actor,
        requests.source_file,
        requests.source_row_number,
        case
            when customers.customer_id is not null
                then {{ customer_status.local_date('requests.requested_at', 'customers.timezone') }}
        end as requested_date,
        case
            when customers.customer_id is null
                then {{ dbt.concat(["'unknown customer '", 'requests.customer_id', "'; nothing was erased'"]) }}
        end as rejection_reason,
        case
            when first_loads.first_load_id > requests.load_id then first_loads.first_load_id
            else requests.load_id
        end as carried_out_load_id
    from requests
    left join customers
        on requests.tenant_id = customers.tenant_id
            and requests.customer_id = customers.customer_id
    left join first_loads
        on requests.tenant_id = first_loads.tenant_id
            and requests.customer_id = first_loads.customer_id
),

ranked as (
    select
        checked.*,
        row_number() over (
            partition by tenant_id, customer_id, rejection_reason is null
            order by requested_at, request_id
        ) as request_rank
    from checked
),

final as (
    select
        ranked.tenant_id,
        ranked.request_id,
        ranked.customer_id,
        ranked.requested_at,
        ranked.requested_date,
        ranked.reason,
        ranked.actor,
        case
            when ranked.rejection_reason is not null then 'rejected'
            when ranked.request_rank = 1 then 'erased'
            else 'no_change'
        end as outcome,
        ranked.rejection_reason,
        ledger.run_id as erased_by_run,
        ranked.source_file,
        ranked.source_row_number
    from ranked
    left join ledger
        on ranked.carried_out_load_id = ledger.load_id
)

select * from final
