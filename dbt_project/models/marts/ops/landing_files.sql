{#- Published: every landing file the pipeline has seen, with what became of it (one row per
    file and content, its latest evaluation): `loaded` (with `rows_rejected` rows rejected,
    listed in import_rejects), `already_loaded` (the same meaning was loaded under another
    name: nothing read), `rejected` (whole file; why in `reason` and import_rejects) or
    `skipped` (a hidden file, `.` or `_` first: not read). Run ids and dates are left out, so
    the table is the same whatever order the nights ran in (the ledger keeps them). -#}
with

ledger as (
    select * from {{ source('landing', 'ingest_ledger') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by source, file, sha256
            order by load_id desc
        ) as evaluation_rank
    from ledger
),

final as (
    select
        case
            when source = 'status_imports' and file like 'status_imports/%/%'
                then {{ dbt.split_part('file', "'/'", 2) }}
        end as tenant_id,
        source,
        file,
        sha256,
        bytes,
        case
            when outcome in ('loaded', 'loaded_with_rejects') then 'loaded'
            else outcome
        end as outcome,
        case
            when outcome = 'loaded_with_rejects'
                then cast(rows_rejected as {{ dbt.type_string() }}) || ' of '
                    || cast(rows_in_file as {{ dbt.type_string() }})
                    || ' rows rejected (listed in import_rejects)'
            else message
        end as reason,
        rows_in_file,
        rows_loaded,
        rows_rejected
    from ranked
    where evaluation_rank = 1
)

select * from final
