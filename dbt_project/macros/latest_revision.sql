{#- Keep the latest revision of each filing, the project's one rule (ingestion/contracts.py LATEST_REVISION_ORDER,
    which the gates and the benchmark read): the highest revision, then the latest submission, then the last
    delivery (an identical revision delivered twice lands twice and must count once), then that delivery's latest
    load and its last row, so the choice depends neither on row order nor on which run landed which delivery. The
    keys are the contract's, in staging's lineage names. -#}
{% macro latest_revision(relation, partition_by='filing_id') -%}
    select * from (
        select
            *,
            row_number() over (
                partition by {{ partition_by }}
                order by revision desc, submitted_at desc, source desc, loaded_at desc, source_row desc
            ) as revision_rank
        from {{ relation }}
    ) ranked
    where revision_rank = 1
{%- endmacro %}
