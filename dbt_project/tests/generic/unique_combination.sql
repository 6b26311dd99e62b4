{#- Fails with every combination of `columns` that occurs more than once.

    `only_new_loads: true` (for big incremental models with a `_load_id`) checks only the
    combinations that rows loaded since the last build have (`int_run_parameters`): an
    older combination was checked the night it arrived, and only a new row can repeat it.
    On a full build (no previous build) that is every combination: the plain check runs.
    `load_id_column` names the column that says which load a row comes from (the status
    engine's models: `built_through_load_id`, the last load a customer's rows were rebuilt
    from; every row of a customer is rebuilt together). -#}
{% test unique_combination(model, columns, only_new_loads=false, load_id_column='_load_id') %}
    {%- set last_built_load_id = -1 %}
    {%- if only_new_loads %}
    -- depends_on: {{ ref('int_run_parameters') }}
    {%- endif %}
    {%- if only_new_loads and execute %}
        {#- no row under `dbt build --empty`: check everything (nothing) -#}
        {%- set found = run_query(
            'select last_built_load_id from ' ~ ref('int_run_parameters')
        ).columns[0].values() %}
        {%- set last_built_load_id = found[0] if found | length > 0 else -1 %}
    {%- endif %}
    {%- if last_built_load_id >= 0 %}
    with new_combinations as (
        select distinct {{ columns | join(', ') }}
        from {{ model }}
        where {{ load_id_column }} > {{ last_built_load_id }}
    )
    select {% for column in columns %}tested.{{ column }}, {% endfor %}count(*) as occurrences
    from {{ model }} as tested
    inner join new_combinations
        on {% for column in columns %}new_combinations.{{ column }} = tested.{{ column }}{% if not loop.last %}
        and {% endif %}{% endfor %}
    group by {% for column in columns %}tested.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    having count(*) > 1
    {%- else %}
    select {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
    {%- endif %}
{% endtest %}
