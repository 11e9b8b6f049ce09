{#- Data tests scoped to what a run changed.

    A test whose every failing row belongs to one enterprise (a key that contains the USCC, a grain of uscc and
    period, a relationship to dim_enterprise, which loses an enterprise only with its every filing) can only start
    failing on the enterprises a run computed again. On an enterprise-scoped model (macros/enterprise_scope.sql),
    such a test declares it in its config:

        config:
          meta: {test_scope: touched_enterprises}

    and then takes only the rows of the enterprises the run computed again (`<model>__touched`) when the run may
    scope its tests: the orchestration sets NDC_RUN_TEST_SCOPE=changed only for an incremental build of every model
    on DuckDB whose build database records that its last build built every model and passed every test
    (orchestration/build_mark.py). Any other build (a full one, a selection, one after a failure, a plain `dbt
    build`) tests every row. The rows the test leaves out are those it passed in that last build, unchanged since.

    dbt wraps the tested model of every generic test in this macro; it also applies the test's own `where`. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set touched = touched_enterprises_of(relation) if execute else none -%}
    {%- if touched is not none -%}
        {%- do conditions.append('uscc in (select uscc from ' ~ touched ~ ')') -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- The record of the enterprises this run computed again in the tested model, when the test is scoped to them and
    the run may scope its tests; none otherwise. -#}
{% macro touched_enterprises_of(relation) -%}
    {%- if (config.get('meta') or {}).get('test_scope') != 'touched_enterprises' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if env_var('NDC_RUN_TEST_SCOPE', 'all') != 'changed' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set record = enterprise_scope_record('touched', relation) -%}
    {{ return(adapter.get_relation(database=record.database, schema=record.schema, identifier=record.identifier)) }}
{%- endmacro %}
