{#- Customer attributes as history (rules §1): email, phone, name, code and accepts_marketing
    as local-date ranges [from_date, to_date) per customer (to_date NULL = still holds), one
    range per run of versions with the same attributes.

    Every version of a `customers` row (raw: every landed row is kept) holds from the local
    date of the instant it took effect until the next version's:
    - a version with `updated_at`: that instant;
    - the first version to arrive without `updated_at`: the customer's `created_at`;
    - a later version without `updated_at`: the last instant of the as-of date (tenant time
      zone) of the run that first loaded it, as the ingest ledger recorded it
      (`ingest_ledger.as_of_date` of its `_load_id`), so a rebuild gives the same answer and
      that run already shows it (like a status import without `Effective At`).
    Versions are ordered by that instant, ties by arrival (later load, later row wins). The
    first version holds from the creation date whatever its `updated_at` (rules §1); a version
    dated before creation holds from creation. Several versions on one local day: the last
    one holds for the day (the state at the end of the day), the others cover no day.

    Nothing here depends on the as-of date: a version stamped after D only counts from its own
    day, which the marts clip away. A per-customer model (macros/per_customer.sql): an
    incremental build recomputes the touched customers only. -#}
with

raw_versions as (
    -- every version of the touched customers' rows: a customer's ranges read only its own
    -- versions, its `int_customers_enriched` row (creation, tenant time zone) and the ledger,
    -- and each of these changes only with a row that touches the customer (a new version,
    -- or a tenant row: every customer of the tenant)
    {{ customer_status.touched_rows(source('landing', 'customers'), 'raw_versions') }}
),

ledger as (
    select
        load_id,
        coalesce(as_of_date, cast(loaded_at as date)) as loaded_for_as_of_date
    from {{ source('landing', 'ingest_ledger') }}
),

customers as (
    select
        tenant_id,
        customer_id,
        timezone,
        created_at,
        created_date
    from {{ ref('int_customers_enriched') }}
),

versions as (
    select
        raw_versions.tenant_id,
        raw_versions.customer_id,
        raw_versions.code,
        lower(raw_versions.email) as email,
        lower({{ dbt.split_part('raw_versions.email', "'@'", 2) }}) as email_domain,
        raw_versions.phone,
        raw_versions.full_name,
        coalesce(raw_versions.accepts_marketing, false) as accepts_marketing,
        raw_versions.updated_at,
        raw_versions._load_id as load_id,
        raw_versions._row_number as source_row_number,
        raw_versions._source_file as source_file,
        ledger.loaded_for_as_of_date,
        row_number() over (
            partition by raw_versions.tenant_id, raw_versions.customer_id
            order by raw_versions._load_id, raw_versions._row_number
        ) as arrival_rank
    from raw_versions
    left join ledger
        on raw_versions._load_id = ledger.load_id
),

effective as (
    select
        versions.*,
        customers.timezone,
        customers.created_date,
        case
            when versions.updated_at is not null then versions.updated_at
            when versions.arrival_rank = 1 then customers.created_at
            else {{ customer_status.end_of_local_day('versions.loaded_for_as_of_date', 'customers.timezone') }}
        end as effective_at
    from versions
    inner join customers
        on versions.tenant_id = customers.tenant_id
            and versions.customer_id = customers.customer_id
),

ordered as (
    select
        effective.*,
        row_number() over (
            partition by tenant_id, customer_id
            order by effective_at, load_id, source_row_number
        ) as version_rank
    from effective
),

dated as (
    select
        ordered.*,
        case
            when version_rank = 1 then created_date
            when {{ customer_status.local_date('effective_at', 'timezone') }} < created_date then created_date
            else {{ customer_status.local_date('effective_at', 'timezone') }}
        end as from_date
    from ordered
),

ranged as (
    select
        dated.*,
        lead(from_date) over (
            partition by tenant_id, customer_id order by version_rank
        ) as to_date
    from dated
),

holding as (
    -- the versions that hold at the end of at least one day
    select
        ranged.*,
        lag(coalesce(code, '')) over w as previous_code,
        lag(coalesce(email, '')) over w as previous_email,
        lag(coalesce(phone, '')) over w as previous_phone,
        lag(coalesce(full_name, '')) over w as previous_full_name,
        lag(accepts_marketing) over w as previous_accepts_marketing
    from ranged
    where to_date is null or to_date > from_date
    window w as (partition by tenant_id, customer_id order by version_rank)
),

runs as (
    select
        holding.*,
        sum(
            case
                when previous_accepts_marketing is null
                    or previous_code <> coalesce(code, '')
                    or previous_email <> coalesce(email, '')
                    or previous_phone <> coalesce(phone, '')
                    or previous_full_name <> coalesce(full_name, '')
                    or previous_accepts_marketing <> accepts_marketing
                    then 1
                else 0
            end
        ) over (
            partition by tenant_id, customer_id order by version_rank
            rows between unbounded preceding and current row
        ) as version_number
    from holding
),

final as (
    select
        tenant_id,
        customer_id,
        version_number,
        min(from_date) as from_date,
        nullif(max(coalesce(to_date, cast('9999-12-31' as date))), cast('9999-12-31' as date)) as to_date,
        max(code) as code,
        max(email) as email,
        max(email_domain) as email_domain,
        max(phone) as phone,
        max(full_name) as full_name,
        {{ dbt.bool_or('accepts_marketing') }} as accepts_marketing,
        min(effective_at) as valid_from_at,
        min(version_rank) as first_version_rank
    from runs
    group by tenant_id, customer_id, version_number
)

select * from final
