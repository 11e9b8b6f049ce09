{#- One row per enterprise annual report (latest revision). Measures keep the filing contract's names and units.
    Incremental: a run processes only new filings and new revisions, and replaces rows by filing_id, so a correction
    to an older period replaces that period's row. -#}
{{ config(**filing_fact_config('int_enterprise__latest_filings')) }}

with filings as (
    {{ new_filings('int_enterprise__latest_filings') }}
),

enterprises as (
    select enterprise_key, uscc from {{ ref('dim_enterprise') }}
),

periods as (
    select period_key, period from {{ ref('dim_period') }}
),

regions as (
    select region_key, division_code from {{ ref('dim_region') }}
),

zones as (
    select zone_key, zone_code from {{ ref('dim_zone') }}
),

industries as (
    select industry_key, industry_code from {{ ref('dim_industry') }}
),

tech_fields as (
    select tech_field_key, tech_field from {{ ref('dim_tech_field') }}
),

final as (
    select
        -- keys
        filings.filing_id,
        filings.uscc,
        filings.period,
        -- foreign keys
        coalesce(enterprises.enterprise_key, {{ missing_member_key() }}) as enterprise_key,
        filings.region_code,
        {{ province_of('filings.region_code') }} as province_code,
        filings.zone_code,
        coalesce(periods.period_key, {{ missing_member_key() }}) as period_key,
        coalesce(regions.region_key, {{ missing_member_key() }}) as region_key,
        coalesce(zones.zone_key, {{ missing_member_key() }}) as zone_key,
        coalesce(industries.industry_key, {{ missing_member_key() }}) as industry_key,
        coalesce(tech_fields.tech_field_key, {{ missing_member_key() }}) as tech_field_key,
        -- attributes
        filings.industry_code,
        filings.tech_field,
        filings.hte_cert_no,
        filings.hte_cert_date,
        filings.sme_reg_no,
        filings.listed,
        filings.amount_unit_suspect,
        -- measures (money in 千元)
        filings.employees,
        filings.st_staff,
        filings.rd_staff,
        filings.graduates,
        filings.revenue,
        filings.hightech_revenue,
        filings.industrial_output,
        filings.net_profit,
        filings.taxes_paid,
        filings.exports,
        filings.total_assets,
        filings.total_cost,
        filings.rd_expense,
        filings.rd_expense_domestic,
        filings.patent_applications,
        filings.invention_grants,
        filings.valid_invention_patents,
        filings.class2_ip,
        filings.pct_applications,
        filings.energy_tce,
        -- audit
        filings.revision,
        filings.submitted_at,
        filings.channel as source_channel,
        filings.source,
        filings.loaded_at
    from filings
    left join enterprises on enterprises.uscc = filings.uscc
    left join periods on periods.period = filings.period
    left join regions on regions.division_code = filings.region_code
    left join zones on zones.zone_code = filings.zone_code
    left join industries on industries.industry_code = filings.industry_code
    left join tech_fields on tech_fields.tech_field = filings.tech_field
)

select * from final
