{#- The current version of every key of a raw landing table (docs/contract.md): a later
    `version_column` wins; without one (or on a tie) the row that arrived later wins
    (higher _load_id, then higher _row_number). Identical repeats collapse to one row.
    Portable: a window function and a filter, no engine-only QUALIFY. -#}
{% macro latest_version(relation, key_columns, version_column=none) %}
    select * from (
        select
            *,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by
                    {% if version_column %}{{ version_column }} desc nulls last,{% endif %}
                    _load_id desc,
                    _row_number desc
            ) as _version_rank
        from {{ relation }}
    ) as versions
    where _version_rank = 1
{% endmacro %}
