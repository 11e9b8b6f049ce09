{#- Models whose every row belongs to one enterprise (USCC) and is computed from that enterprise's latest filings
    alone: its labels, its annual reports, its dimension row, its evaluations. Incremental by enterprise: a run
    computes again only the enterprises whose filings changed since the model was last built, and replaces all of
    their rows (delete+insert on uscc), so the model always equals a full rebuild.

    What changed is told by int_enterprise__inputs, a digest of each enterprise's latest filings (which filing,
    revision and raw row). Each such model keeps, beside itself in the intermediate schema, the digests it was built
    from (`<model>__built_from`, written by its post-hook in the same transaction as its rows), and takes the
    enterprises whose digest is new, changed or gone. An enterprise with no filing left loses its rows.
    Everything else a row depends on is the project (thresholds, reference seeds, the SQL): a changed project
    rebuilds every model whole (orchestration/build_mark.py). A table on Spark, rebuilt whole on every run.

    Use: config(**enterprise_scope_config()); end the select of each enterprise-level input with
    `{{ of_touched_enterprises() }}` (`{{ of_touched_enterprises('and') }}` after a where clause of its own). -#}
{% macro enterprise_scope_config(keep=none) -%}
    {%- if target.type == 'spark' -%}
        {{ return({'materialized': 'table'}) }}
    {%- endif -%}
    {{ return({
        'materialized': 'incremental',
        'unique_key': 'uscc',
        'incremental_strategy': 'delete+insert',
        'on_schema_change': 'fail',
        'meta': {'years': 'all'},
        'pre_hook': "{{ remember_touched_enterprises() }}",
        'post_hook': [
            "{{ delete_gone_enterprises(" ~ (keep | tojson if keep else 'none') ~ ") }}",
            "{{ remember_enterprise_inputs() }}",
        ],
    }) }}
{%- endmacro %}

{#- A record an enterprise-scoped model keeps beside itself in the intermediate schema: `<model>__<what>`.
    `model`: the model's relation (a test names the model it tests this way, macros/test_scope.sql). -#}
{% macro enterprise_scope_record(what, model=none) -%}
    {%- set model = model if model is not none else this -%}
    {{ return(api.Relation.create(database=model.database, schema=generate_schema_name('intermediate', none) | trim,
                                  identifier=model.identifier ~ '__' ~ what)) }}
{%- endmacro %}

{% macro enterprise_inputs_built_from() -%}
    {{ return(enterprise_scope_record('built_from')) }}
{%- endmacro %}

{#- The USCCs whose latest filings differ from those the model was last built from: new, changed or gone. Without
    a record of them (dropped by hand), every enterprise. -#}
{% macro touched_enterprises() -%}
    {%- set record = enterprise_inputs_built_from() -%}
    {%- set built_from = adapter.get_relation(database=record.database, schema=record.schema,
                                              identifier=record.identifier) -%}
    {%- if built_from is none -%}
    select uscc from {{ ref('int_enterprise__inputs') }}
    {%- else -%}
    select uscc from (
        select uscc, inputs_digest, filings from {{ ref('int_enterprise__inputs') }}
        except
        select uscc, inputs_digest, filings from {{ built_from }}
    ) as new_or_changed
    union
    select uscc from (
        select uscc, inputs_digest, filings from {{ built_from }}
        except
        select uscc, inputs_digest, filings from {{ ref('int_enterprise__inputs') }}
    ) as changed_or_gone
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: the enterprises this run computes again, kept as `<model>__touched` (computed once, however many
    inputs the model restricts to them). The model's data tests that hold enterprise by enterprise read it too:
    after a build whose every test passed, the next one tests only these enterprises' rows (macros/test_scope.sql).
    A full build computes every enterprise and keeps no record, so its tests take every row. -#}
{% macro remember_touched_enterprises() -%}
    {%- set record = enterprise_scope_record('touched').incorporate(type='table') -%}
    {#- dbt's cache of relations is read when a run starts: the tests of this run look the record up there. -#}
    {%- if is_incremental() -%}
    {%- do adapter.cache_added(record) -%}
    create or replace table {{ record }} as {{ touched_enterprises() }}
    {%- else -%}
    {%- do adapter.cache_dropped(record) -%}
    drop table if exists {{ record }}
    {%- endif -%}
{%- endmacro %}

{#- The condition that keeps an input to the touched enterprises in an incremental run, led by `keyword`; nothing
    in a full build. -#}
{% macro of_touched_enterprises(keyword='where') -%}
    {%- if is_incremental() -%}
    {{ keyword }} uscc in (select uscc from {{ enterprise_scope_record('touched') }})
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: the rows of enterprises with no filing left (delete+insert replaces only the enterprises it brings).
    `keep`: a condition for rows that belong to no enterprise, such as a dimension's missing member. -#}
{% macro delete_gone_enterprises(keep=none) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as kept
    where not exists (select 1 from {{ ref('int_enterprise__inputs') }} as inputs where inputs.uscc = kept.uscc)
    {%- if keep %} and not ({{ keep }}){% endif %}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: the digests this build of the model was made from, for the next run to compare with. -#}
{% macro remember_enterprise_inputs() -%}
    create or replace table {{ enterprise_inputs_built_from() }} as
    select uscc, inputs_digest, filings from {{ ref('int_enterprise__inputs') }}
{%- endmacro %}
