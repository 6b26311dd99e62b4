{#- A query of the statuses of `kind`, from the seeds (rules §2-§6): `account`,
    `lifecycle`, `headline` or `inactive_reason` (see the `accepted_statuses` test). -#}
{% macro status_values(kind) -%}
    {%- if kind == 'account' -%}
    select status from {{ ref('account_statuses') }}
    {%- elif kind == 'lifecycle' -%}
    select status from {{ ref('lifecycle_statuses') }}
    {%- elif kind == 'headline' -%}
    select status from {{ ref('account_statuses') }} where is_headline
    union all
    select status from {{ ref('lifecycle_statuses') }}
    {%- elif kind == 'inactive_reason' -%}
    select status from {{ ref('account_statuses') }} where makes_member_inactive
    union all
    select inactive_reason from {{ ref('member_inactive_reasons') }}
    {%- else -%}
    {{ exceptions.raise_compiler_error("status_values: unknown kind '" ~ kind ~ "'") }}
    {%- endif -%}
{%- endmacro %}
