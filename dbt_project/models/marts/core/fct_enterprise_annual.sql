{#- One row per enterprise annual report (latest revision). Measures keep the filing contract's names and units. -#}
with filings as (
    select * from {{ ref('int_enterprise__latest_filings') }}
),

enterprises as (
    select enterprise_key, uscc from {{ ref('dim_enterprise') }}
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
        concat(substr(filings.region_code, 1, 2), '0000') as province_code,
        filings.zone_code,
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
    left join enterprises on filings.uscc = enterprises.uscc
)

select * from final
