{#- One report per subject and reporting year. Two filings about the same subject and year (a province delivering a
    report again under a new filing id) must not double a subject in an evaluation: the later submission is kept.
    The published fact keeps both rows, and its quality gate blocks publication until the duplicate is resolved. -#}
{% macro latest_report_per_period(relation, subject_key) -%}
    select * from (
        select
            *,
            row_number() over (
                partition by {{ subject_key }}, period
                order by submitted_at desc, filing_id desc
            ) as report_rank
        from {{ relation }}
    ) ranked
    where report_rank = 1
{%- endmacro %}
