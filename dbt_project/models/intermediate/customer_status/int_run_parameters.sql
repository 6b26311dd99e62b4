{#- The parameters this build ran with, one row, for the audits that run after dbt
    (`customer_status.checks.status_audits`): they must know D even when no customer exists
    yet on D. -#}
with

final as (
    select {{ customer_status.as_of_date() }} as as_of_date
)

select * from final
