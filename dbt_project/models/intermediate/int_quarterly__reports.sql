{#- One quarterly flash report per reporter, year and quarter (the later submission when a reporter's quarter was
    filed under two filing ids; the published fact keeps both and its gate blocks publication). A reporter is an
    enterprise (its USCC) or a zone filing its own report (its zone code). Beside the year-to-date figures:
    - `<m>_q`, the single quarter (当季 = 本季止累计 − 上季止累计, domain-additions §3): the first quarter's year-to-date
      figure, or the year-to-date figure minus the same reporter's previous quarter of the same year; null when
      that previous quarter was not reported (a reporter joining the panel mid-year);
    - `<m>_ytd_last_year`, the same reporter's year-to-date figure of the same quarter a year before (null when it
      did not report then), the base of comparable growth;
    - `ytd_decreased`: a cumulative measure (quarterly_cumulative_measures) below the previous quarter's, listed in
      `ytd_decreased_measures`. Such a report is kept and flagged, not corrected. -#}
with filings as (
    select
        *,
        case when uscc is null then 'zone' else 'enterprise' end as reporter_type,
        coalesce(uscc, zone_code) as reporter_id
    from {{ ref('int_quarterly__latest_filings') }}
),

reports as (
    {{ latest_report('filings', 'reporter_type, reporter_id, period, quarter') }}
),

final as (
    select
        reports.filing_id,
        reports.reporter_type,
        reports.reporter_id,
        reports.uscc,
        reports.zone_code,
        reports.period,
        reports.quarter,
        {%- for m in quarterly_measures() %}
        reports.{{ m }}_ytd,
        case
            when reports.quarter = 1 then reports.{{ m }}_ytd
            when previous.filing_id is not null then reports.{{ m }}_ytd - previous.{{ m }}_ytd
        end as {{ m }}_q,
        last_year.{{ m }}_ytd as {{ m }}_ytd_last_year,
        {%- endfor %}
        reports.employees,
        last_year.employees as employees_last_year,
        reports.quarter = 1 or previous.filing_id is not null as has_single_quarter,
        last_year.filing_id is not null as has_last_year,
        coalesce(
            {%- for m in quarterly_cumulative_measures() %}
            reports.{{ m }}_ytd < previous.{{ m }}_ytd{{ ' or' if not loop.last }}
            {%- endfor %}, false) as ytd_decreased,
        nullif(concat_ws(', '
            {%- for m in quarterly_cumulative_measures() %},
            case when reports.{{ m }}_ytd < previous.{{ m }}_ytd then '{{ m }}_ytd' end
            {%- endfor %}), '') as ytd_decreased_measures,
        reports.revision,
        reports.submitted_at,
        reports.channel,
        reports.source,
        reports.loaded_at
    from reports
    left join reports as previous
        on previous.reporter_type = reports.reporter_type
        and previous.reporter_id = reports.reporter_id
        and previous.period = reports.period
        and previous.quarter = reports.quarter - 1
    left join reports as last_year
        on last_year.reporter_type = reports.reporter_type
        and last_year.reporter_id = reports.reporter_id
        and last_year.period = reports.period - 1
        and last_year.quarter = reports.quarter
)

select * from final
