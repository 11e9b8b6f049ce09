{#- The latest report of each subject: of the latest period, the later submission (then the higher filing id).
    With partition_by 'uscc, period' it keeps one report per subject and year: two filings about the same subject
    and year (a province delivering a report again under a new filing id) must not double a subject in an
    evaluation. The published fact keeps both rows, and its gate blocks publication until the duplicate is
    resolved. With partition_by 'uscc' it gives the filing that describes a subject in its dimension. -#}
{% macro latest_report(relation, partition_by) -%}
    select * from (
        select
            *,
            row_number() over (
                partition by {{ partition_by }}
                order by period desc, submitted_at desc, filing_id desc
            ) as report_rank
        from {{ relation }}
    ) ranked
    where report_rank = 1
{%- endmacro %}
