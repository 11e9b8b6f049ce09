{#- Keep the latest revision of each filing: the highest revision, then the latest submission, then the latest
    load (an identical revision delivered twice lands twice and must count once). -#}
{% macro latest_revision(relation, partition_by='filing_id') -%}
    select * from (
        select
            *,
            row_number() over (
                partition by {{ partition_by }}
                order by revision desc, submitted_at desc, loaded_at desc, source desc, source_row desc
            ) as revision_rank
        from {{ relation }}
    ) ranked
    where revision_rank = 1
{%- endmacro %}
