{#- One row per quarterly flash report (季度快报), latest revision: a monitoring-point enterprise's or a zone's own
    year-to-date figures at a quarter's end (money in 千元), flagged where a cumulative measure fell below the
    reporter's previous quarter (int_quarterly__reports). Rebuilt whole on every run: a correction to one quarter
    changes the flag of the next. -#}
with filings as (
    select * from {{ ref('int_quarterly__latest_filings') }}
),

reports as (
    select filing_id, ytd_decreased, ytd_decreased_measures from {{ ref('int_quarterly__reports') }}
),

zones as (
    select zone_key, zone_code from {{ ref('dim_zone') }}
),

periods as (
    select period_key, period from {{ ref('dim_period') }}
),

final as (
    select
        -- keys
        filings.filing_id,
        case when filings.uscc is null then 'zone' else 'enterprise' end as reporter_type,
        coalesce(filings.uscc, filings.zone_code) as reporter_id,
        filings.uscc,
        filings.zone_code,
        filings.period,
        filings.quarter,
        -- foreign keys
        coalesce(zones.zone_key, {{ missing_member_key() }}) as zone_key,
        coalesce(periods.period_key, {{ missing_member_key() }}) as period_key,
        -- measures (money in 千元, year to date)
        {%- for m in quarterly_measures() %}
        filings.{{ m }}_ytd,
        {%- endfor %}
        filings.employees,
        -- flags
        case when filings.uscc is not null then {{ uscc_checksum_ok('filings.uscc') }} end as uscc_valid,
        coalesce(reports.ytd_decreased, false) as ytd_decreased,
        reports.ytd_decreased_measures,
        -- audit
        filings.revision,
        filings.submitted_at,
        filings.channel as source_channel,
        filings.source,
        filings.loaded_at
    from filings
    left join reports on reports.filing_id = filings.filing_id
    left join zones on zones.zone_code = filings.zone_code
    left join periods on periods.period = filings.period
)

select * from final
