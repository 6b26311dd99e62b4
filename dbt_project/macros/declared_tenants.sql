{#- rules §1: tenants are declared. A landing row whose `tenant_id` no accepted `tenants` row
    declares is kept in `raw` but held: the staging models let through only rows of declared
    tenants (this filter), and `import_rejects` reports the held rows (scope `held`) every
    night until the tenant is declared. Tenant ids are data: matched exactly, case and all
    (`T1` is not `t1`). Used as `where {{ customer_status.declared_tenant('tenant_id') }}`. -#}
{% macro declared_tenant(column) -%}
    {{ column }} in (select declared.tenant_id from {{ ref('stg_landing__tenants') }} as declared)
{%- endmacro %}
