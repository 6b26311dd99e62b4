{#- Coalesce overlapping or touching date ranges [from_date, to_date) into islands, per
    `partition_by`. `to_date` NULL = open-ended. Each island keeps the `carry` columns of the
    range that started it (the earliest; ties by `order_by_tiebreak`). Portable: window
    functions and group by only.

    `relation` is a CTE or relation with columns from_date, to_date, the partition columns,
    the carried columns and the tie-break column. -#}
{% macro coalesce_intervals(relation, partition_by, carry=[], order_by_tiebreak=none) %}
    {%- set part = partition_by | join(', ') -%}
    {%- set open_end = "cast('9999-12-31' as date)" -%}
    {%- set order -%}from_date, _to_date{% if order_by_tiebreak %}, {{ order_by_tiebreak }}{% endif %}{%- endset -%}
    select
        {{ part }},
        min(from_date) as from_date,
        nullif(max(_to_date), {{ open_end }}) as to_date
        {%- for column in carry %},
        max(case when _island_rank = 1 then {{ column }} end) as {{ column }}
        {%- endfor %}
    from (
        select
            islands_flagged.*,
            row_number() over (partition by {{ part }}, _island order by {{ order }}) as _island_rank
        from (
            select
                starts_flagged.*,
                sum(_starts_island) over (
                    partition by {{ part }} order by {{ order }} rows between unbounded preceding and current row
                ) as _island
            from (
                select
                    with_reach.*,
                    case when _reach_before is null or _reach_before < from_date then 1 else 0 end as _starts_island
                from (
                    select
                        ranges.*,
                        max(_to_date) over (
                            partition by {{ part }} order by {{ order }}
                            rows between unbounded preceding and 1 preceding
                        ) as _reach_before
                    from (
                        select *, coalesce(to_date, {{ open_end }}) as _to_date
                        from {{ relation }}
                        where to_date is null or to_date > from_date
                    ) as ranges
                ) as with_reach
            ) as starts_flagged
        ) as islands_flagged
    ) as islands
    group by {{ part }}, _island
{% endmacro %}
