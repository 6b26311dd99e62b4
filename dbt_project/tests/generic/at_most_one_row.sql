{#- Fails when the model has more than one row (a settings table such as tenant_defaults:
    a second row would multiply every tenant in `int_tenants`). That it has one at all is
    checked by `int_tenants_keeps_every_tenant` (no row there would drop every tenant). -#}
{% test at_most_one_row(model) %}
    select count(*) as row_count from {{ model }} having count(*) > 1
{% endtest %}
