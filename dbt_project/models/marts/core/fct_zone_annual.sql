{#- One row per national high-tech zone annual report (latest revision). Measures keep the filing contract's names
    and units (money in 千元). Incremental like fct_enterprise_annual: keyed on filing_id. -#}
{{ config(**filing_fact_config('int_zone__latest_filings')) }}

with filings as (
    {{ new_filings('int_zone__latest_filings') }}
),

zones as (
    select zone_key, zone_code from {{ ref('dim_zone') }}
),

periods as (
    select period_key, period from {{ ref('dim_period') }}
),

regions as (
    select region_key, division_code from {{ ref('dim_region') }}
),

final as (
    select
        -- keys
        filings.filing_id,
        filings.zone_code,
        filings.period,
        -- foreign keys
        coalesce(zones.zone_key, {{ missing_member_key() }}) as zone_key,
        coalesce(periods.period_key, {{ missing_member_key() }}) as period_key,
        coalesce(regions.region_key, {{ missing_member_key() }}) as province_region_key,
        filings.province_code,
        -- attributes
        filings.zone_name,
        -- measures (money in 千元)
        filings.enterprises,
        filings.employees,
        filings.revenue,
        filings.industrial_output,
        filings.net_profit,
        filings.taxes_paid,
        filings.exports,
        filings.gdp,
        filings.city_gdp,
        filings.rd_expense,
        filings.rd_fte,
        filings.rd_institutions,
        filings.new_enterprises,
        filings.energy_tce,
        filings.co2_tonnes,
        filings.green_ratio,
        filings.area_km2,
        -- green account inputs (this project's extension of the report; empty in older deliveries)
        filings.coal_t,
        filings.coal_tce,
        filings.oil_t,
        filings.oil_tce,
        filings.gas_10k_m3,
        filings.gas_tce,
        filings.electricity_10k_kwh,
        filings.electricity_tce,
        filings.heat_gj,
        filings.heat_tce,
        filings.renewable_electricity_10k_kwh,
        filings.water_10k_t,
        filings.solid_waste_t,
        filings.solid_waste_reused_t,
        filings.value_added,
        -- audit
        filings.revision,
        filings.submitted_at,
        filings.channel as source_channel,
        filings.source,
        filings.loaded_at
    from filings
    left join zones on zones.zone_code = filings.zone_code
    left join periods on periods.period = filings.period
    left join regions on regions.division_code = filings.province_code
)

select * from final
