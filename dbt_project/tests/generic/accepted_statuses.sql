{#- Fails with every value of the column that is not a status of `kind` in the seeds (rules
    §2-§6): the accepted values are data (seeds account_statuses, lifecycle_statuses,
    member_inactive_reasons), not a list repeated in every YAML file. NULL passes (as with
    accepted_values); add not_null where a value is required. Kinds: `account` (the
    predefined account statuses), `lifecycle`, `headline` (the `status` column: the account
    statuses with is_headline, then the lifecycle statuses), `inactive_reason` (the account
    statuses with makes_member_inactive, then the member's other reasons). -#}
{% test accepted_statuses(model, column_name, kind) %}
    select {{ column_name }} as value, count(*) as occurrences
    from {{ model }}
    where {{ column_name }} is not null
        and {{ column_name }} not in ({{ customer_status.status_values(kind) }})
    group by {{ column_name }}
{% endtest %}
