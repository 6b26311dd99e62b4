{#- The current version of every key of a raw landing table (docs/contract.md): a later
    `version_column` wins; without one (or on a tie) the row that arrived later wins
    (higher _load_id, then higher _row_number). Identical repeats collapse to one row.
    Portable: a window function and a filter, no engine-only QUALIFY.

    `only_repeated_keys`: for a big table whose keys seldom repeat (engagement events): only
    the rows of keys that occur more than once go through the window; the others are their
    key's only version and pass as they are. A group-by of the keys is much cheaper than a
    window that partitions and sorts every row with all its columns. The key columns must be
    required ones (never NULL), as landing keys are. -#}
{% macro latest_version(relation, key_columns, version_column=none, only_repeated_keys=false) %}
    {%- if not only_repeated_keys %}
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
    {%- else %}
    {%- set repeated -%}
        select {{ key_columns | join(', ') }}
        from {{ relation }}
        group by {{ key_columns | join(', ') }}
        having count(*) > 1
    {%- endset %}
    select single_rows.*, 1 as _version_rank
    from {{ relation }} as single_rows
    left join ({{ repeated }}) as repeated_keys
        on {% for key in key_columns %}single_rows.{{ key }} = repeated_keys.{{ key }}{% if not loop.last %}
            and {% endif %}{% endfor %}
    where repeated_keys.{{ key_columns[0] }} is null
    union all
    select * from (
        select
            repeated_rows.*,
            row_number() over (
                partition by {% for key in key_columns %}repeated_rows.{{ key }}{% if not loop.last %}, {% endif %}{% endfor %}
                order by
                    {% if version_column %}repeated_rows.{{ version_column }} desc nulls last,{% endif %}
                    repeated_rows._load_id desc,
                    repeated_rows._row_number desc
            ) as _version_rank
        from {{ relation }} as repeated_rows
        inner join ({{ repeated }}) as repeated_keys
            on {% for key in key_columns %}repeated_rows.{{ key }} = repeated_keys.{{ key }}{% if not loop.last %}
                and {% endif %}{% endfor %}
    ) as versions
    where _version_rank = 1
    {%- endif %}
{% endmacro %}
