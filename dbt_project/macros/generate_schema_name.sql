{#- Schemas are named exactly as configured (staging, marts): the published tables are
    marts.<name> as docs/contract.md says, not <target>_marts. Spark builds the marts into a
    candidate schema (macros/cross_engine/portable.sql, engine_schema_name). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ customer_status.engine_schema_name(custom_schema_name | trim if custom_schema_name is not none else target.schema) }}
{%- endmacro %}
