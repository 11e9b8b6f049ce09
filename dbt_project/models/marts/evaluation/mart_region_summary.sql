{#- 区域创新概览, one row per reporting year and province (with its NBS region), and one for 境外: filing
    enterprises, how many held a 高新技术企业 certificate valid at year end or a 科技型中小企业 registration of the
    year, their revenue and R&D (千元) without the reports flagged amount_unit_suspect (counted in
    records_excluded_unit_suspect), and technology contracts sold and bought by parties of the province (万元).
    Region totals are sums of the rows; recompute R&D intensity from the summed rd_expense and revenue. -#}
with reports as (
    select * from {{ ref('int_enterprise__annual') }}
),

contracts as (
    select * from {{ ref('fct_tech_contract') }}
),

provinces as (
    select province_code, province_name, region from {{ ref('ref_provinces') }}
    union all
    -- 境外 (900000): contract parties abroad, so that totals over the rows include cross-border contracts (§8)
    select division_code, division_name, region from {{ ref('dim_region') }}
    where level = 'abroad'
),

periods as (
    select period from {{ ref('dim_period') }}
    where period is not null
),

enterprise_totals as (
    select
        period,
        {{ province_of('region_code') }} as province_code,
        count(*) as enterprises,
        sum(case when holds_hte_certificate then 1 else 0 end) as hte_enterprises,
        sum(case when sme_registered then 1 else 0 end) as sme_enterprises,
        -- a suspected 元-for-千元 amount would count a thousand times over: left out of the sums, and counted
        sum(case when amount_unit_suspect then null else revenue end) as revenue,
        sum(case when amount_unit_suspect then null else rd_expense end) as rd_expense,
        sum(case when amount_unit_suspect then 1 else 0 end) as records_excluded_unit_suspect
    from reports
    group by period, {{ province_of('region_code') }}
),

sold as (
    select period, seller_province_code as province_code, count(*) as contracts, sum(amount) as amount
    from contracts
    group by period, seller_province_code
),

bought as (
    select period, buyer_province_code as province_code, count(*) as contracts, sum(amount) as amount
    from contracts
    group by period, buyer_province_code
),

final as (
    select
        -- keys
        periods.period,
        provinces.province_code,
        -- attributes
        provinces.province_name,
        provinces.region,
        -- measures
        cast(coalesce(enterprise_totals.enterprises, 0) as {{ dbt.type_bigint() }}) as enterprises,
        cast(coalesce(enterprise_totals.hte_enterprises, 0) as {{ dbt.type_bigint() }}) as hte_enterprises,
        cast(coalesce(enterprise_totals.sme_enterprises, 0) as {{ dbt.type_bigint() }}) as sme_enterprises,
        cast(enterprise_totals.revenue as decimal(18, 4)) as revenue,
        cast(enterprise_totals.rd_expense as decimal(18, 4)) as rd_expense,
        {{ share('enterprise_totals.rd_expense', 'enterprise_totals.revenue') }} as rd_intensity,
        cast(coalesce(enterprise_totals.records_excluded_unit_suspect, 0) as {{ dbt.type_bigint() }})
            as records_excluded_unit_suspect,
        cast(coalesce(sold.contracts, 0) as {{ dbt.type_bigint() }}) as contracts_sold,
        cast(coalesce(sold.amount, 0) as decimal(18, 4)) as contract_amount_sold,
        cast(coalesce(bought.contracts, 0) as {{ dbt.type_bigint() }}) as contracts_bought,
        cast(coalesce(bought.amount, 0) as decimal(18, 4)) as contract_amount_bought
    from periods
    cross join provinces
    left join enterprise_totals
        on enterprise_totals.period = periods.period
        and enterprise_totals.province_code = provinces.province_code
    left join sold
        on sold.period = periods.period
        and sold.province_code = provinces.province_code
    left join bought
        on bought.period = periods.period
        and bought.province_code = provinces.province_code
)

select * from final
