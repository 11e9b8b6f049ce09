{#- The second-level indicators of the zone evaluation (domain-rules §6) that filings support. Zone reports give
    most of them; enterprise reports (by their 所在国家高新区), contracts (by the seller's zone) and carrier reports
    give the rest. Year-on-year indicators need the zone's report of the previous year and are empty without it.
    One row per zone and year, one column per indicator (the list is macro zone_indicators); which version weighs
    which indicator is ref_zone_weights. -#}
{%- set indicators = zone_indicators() -%}
{%- set unit_suspect = 'coalesce(amount_unit_suspect, false)' -%}

with zones as (
    select * from {{ ref('int_zone__annual') }}
),

reports as (
    select * from {{ ref('int_enterprise__annual') }}
),

enterprises as (
    -- 5.6 counts firms listed in the year: reported listed, and reported not listed the year before (without a
    -- report of the year before, the listing year is unknown and the firm is not counted)
    select
        reports.*,
        coalesce(reports.listed and not previous.listed, false) as newly_listed
    from reports
    left join reports as previous
        on previous.uscc = reports.uscc
        and previous.period = reports.period - 1
    where reports.zone_code is not null
),

contracts as (
    select * from {{ ref('int_contract__latest_filings') }}
),

green as (
    -- the green account: the one definition of the three green indicators
    select * from {{ ref('int_zone__green_account') }}
),

carriers as (
    select * from {{ ref('int_carrier__annual') }}
    where zone_code is not null
),

enterprise_totals as (
    select
        zone_code,
        period,
        sum(employees) as employees,
        sum(graduates) as graduates,
        sum(invention_grants) as invention_grants,
        sum(case when sme_registered then 1 else 0 end) as sme_registered,
        sum(case when holds_hte_certificate then 1 else 0 end) as hte_enterprises,
        -- amounts of a report flagged amount_unit_suspect (元 under a 千元 header) enter no sum or amount test
        sum(case when holds_hte_certificate and not {{ unit_suspect }} then coalesce(exports, 0) else 0 end) as hte_exports,
        sum(case when newly_listed then 1 else 0 end) as listed_enterprises,
        -- 5.3 and 5.7: 内部研发投入强度达5% (and 营业收入超5亿元)
        sum(case when not {{ unit_suspect }}
            and {{ share_at_least('rd_expense', 'revenue', var('zone_rd_intensity_threshold')) }}
            then revenue else 0 end) as rd5_revenue,
        sum(case when not {{ unit_suspect }}
            and {{ share_at_least('rd_expense', 'revenue', var('zone_rd_intensity_threshold')) }}
            and revenue > {{ var('zone_large_enterprise_revenue_thousand_yuan') }} then 1 else 0 end) as rd5_large_enterprises,
        sum(case when {{ unit_suspect }} then 1 else 0 end) as records_excluded_unit_suspect
    from enterprises
    group by zone_code, period
),

contract_totals as (
    select
        sellers.zone_code,
        contracts.period,
        sum(contracts.amount) as amount
    from contracts
    inner join enterprises as sellers
        on sellers.uscc = contracts.seller_uscc
        and sellers.period = contracts.period
    group by sellers.zone_code, contracts.period
),

incubation_totals as (
    -- the indicator counts new tenants of 孵化器, 加速器 and 大学科技园 (not 众创空间)
    select
        zone_code,
        period,
        sum(new_tenants) as new_tenants
    from carriers
    where carrier_type in ('孵化器', '加速器', '大学科技园')
    group by zone_code, period
),

measured as (
    select
        zones.zone_code,
        zones.period,
        {%- for key, expression in indicators %}
        cast({{ expression }} as double) as {{ key }},
        {%- endfor %}
        cast(coalesce(enterprise_totals.records_excluded_unit_suspect, 0) as {{ dbt.type_bigint() }})
            as records_excluded_unit_suspect
    from zones
    left join zones as previous
        on previous.zone_code = zones.zone_code
        and previous.period = zones.period - 1
    left join enterprise_totals
        on enterprise_totals.zone_code = zones.zone_code
        and enterprise_totals.period = zones.period
    left join enterprise_totals as previous_enterprise_totals
        on previous_enterprise_totals.zone_code = zones.zone_code
        and previous_enterprise_totals.period = zones.period - 1
    left join contract_totals
        on contract_totals.zone_code = zones.zone_code
        and contract_totals.period = zones.period
    left join incubation_totals
        on incubation_totals.zone_code = zones.zone_code
        and incubation_totals.period = zones.period
    left join green
        on green.zone_code = zones.zone_code
        and green.period = zones.period
),

final as (
    select * from measured
)

select * from final
