{#- Enterprise resolution: one report per enterprise (USCC) and reporting year, the later submission when a year was
    filed twice under different filing ids, with the labels the enterprise held at the end of that year. Every evaluation mart
    starts here, so no enterprise is counted twice in a year. -#}
{{ config(**enterprise_scope_config()) }}

with filings as (
    -- what the evaluations read; names, contact data and lineage stay in the fact
    select
        filing_id,
        uscc,
        period,
        submitted_at,
        region_code,
        zone_code,
        industry_code,
        tech_field,
        established_on,
        hte_cert_no,
        hte_cert_date,
        sme_reg_no,
        listed,
        employees,
        st_staff,
        rd_staff,
        graduates,
        revenue,
        hightech_revenue,
        net_profit,
        exports,
        total_assets,
        total_cost,
        rd_expense,
        rd_expense_domestic,
        patent_applications,
        invention_grants,
        valid_invention_patents,
        class2_ip,
        amount_unit_suspect
    from {{ ref('int_enterprise__latest_filings') }}
    {{ of_touched_enterprises() }}
),

reports as (
    {{ latest_report('filings', 'uscc, period') }}
),

certificates as (
    -- a grant date before the enterprise was founded is a filing error: flagged in the labels, never counted
    select uscc, valid_from, valid_to
    from {{ ref('int_enterprise__labels') }}
    where label = 'hte'
        and not granted_before_established
        {{ of_touched_enterprises('and') }}
),

certified_years as (
    -- a certificate valid on 31 December of the reporting year
    select distinct
        reports.uscc,
        reports.period
    from reports
    inner join certificates
        on certificates.uscc = reports.uscc
        and {{ held_at_year_end('certificates.valid_from', 'certificates.valid_to', 'reports.period') }}
),

final as (
    select
        reports.*,
        certified_years.uscc is not null as holds_hte_certificate,
        reports.sme_reg_no is not null as sme_registered
    from reports
    left join certified_years
        on certified_years.uscc = reports.uscc
        and certified_years.period = reports.period
)

select * from final
