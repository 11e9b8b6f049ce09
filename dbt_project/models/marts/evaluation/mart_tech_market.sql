{#- 技术市场 (domain-rules §8): registered technology contracts, 成交额 and 技术交易额 by reporting year, contract type,
    seller type, technology field (全国技术市场统计, dim_tech_market_field) and the flow from the seller's province to
    the buyer's (境外 = 900000). From 2021 技术许可 is its own type; licences signed before 2021-01-01 are inside
    技术转让 (transfer_includes_licensing). is_cross_province is a flow between two provinces of China;
    is_cross_border one with a party abroad. Sum any columns up for coarser views. -#}
{%- set abroad_code = '900000' -%}

with contracts as (
    select * from {{ ref('fct_tech_contract') }}
),

periods as (
    select period, licensing_reported_separately from {{ ref('dim_period') }}
),

tech_market_fields as (
    select tech_market_field_key, tech_market_field, tech_market_field_code from {{ ref('dim_tech_market_field') }}
),

places as (
    select division_code, division_name, region
    from {{ ref('dim_region') }}
    where level in ('province', 'abroad')
),

flows as (
    select
        period,
        contract_type_reported as contract_type,
        seller_type,
        seller_province_code,
        buyer_province_code,
        tech_market_field_key,
        count(*) as contracts,
        sum(amount) as amount,
        sum(tech_amount) as tech_amount,
        -- a transfer that includes licences: one signed before the Civil Code (the split is by signing date)
        max(case when contract_type_reported <> contract_type then 1 else 0 end) as holds_pre_2021_licences
    from contracts
    group by period, contract_type_reported, seller_type, seller_province_code, buyer_province_code, tech_market_field_key
),

final as (
    select
        -- keys
        flows.period,
        flows.contract_type,
        flows.seller_type,
        flows.seller_province_code,
        flows.buyer_province_code,
        flows.tech_market_field_key,
        -- attributes
        tech_market_fields.tech_market_field as tech_field,
        tech_market_fields.tech_market_field_code as tech_field_code,
        coalesce(
            flows.contract_type = '技术转让'
            and (not periods.licensing_reported_separately or flows.holds_pre_2021_licences = 1),
            false
        ) as transfer_includes_licensing,
        sellers.division_name as seller_province_name,
        sellers.region as seller_region,
        buyers.division_name as buyer_province_name,
        buyers.region as buyer_region,
        -- between two provinces of China; a party abroad (900000) makes the contract cross-border instead
        coalesce(
            flows.seller_province_code <> flows.buyer_province_code
            and flows.seller_province_code <> '{{ abroad_code }}' and flows.buyer_province_code <> '{{ abroad_code }}',
            false
        ) as is_cross_province,
        coalesce(
            (flows.seller_province_code = '{{ abroad_code }}') <> (flows.buyer_province_code = '{{ abroad_code }}'),
            false
        ) as is_cross_border,
        -- measures (万元)
        cast(flows.contracts as {{ dbt.type_bigint() }}) as contracts,
        cast(flows.amount as decimal(18, 4)) as amount,
        cast(flows.tech_amount as decimal(18, 4)) as tech_amount
    from flows
    left join periods on periods.period = flows.period
    left join tech_market_fields on tech_market_fields.tech_market_field_key = flows.tech_market_field_key
    left join places as sellers on sellers.division_code = flows.seller_province_code
    left join places as buyers on buyers.division_code = flows.buyer_province_code
)

select * from final
