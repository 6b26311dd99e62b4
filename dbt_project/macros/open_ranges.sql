{#- The earlier of two exclusive range ends, NULL meaning open (never ends): the end of a
    range cut by another. Portable: a plain case. -#}
{% macro earliest_end(a, b) -%}
    case
        when {{ a }} is null then {{ b }}
        when {{ b }} is null then {{ a }}
        when {{ b }} < {{ a }} then {{ b }}
        else {{ a }}
    end
{%- endmacro %}

{#- The later of two range starts (neither NULL). -#}
{% macro latest_start(a, b) -%}
    case when {{ b }} > {{ a }} then {{ b }} else {{ a }} end
{%- endmacro %}
