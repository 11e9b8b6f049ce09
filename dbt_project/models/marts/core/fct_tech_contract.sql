{#- One row per registered technology contract (latest revision). Amounts keep the filing contract's unit (万元).
    Party names are left out: a party can be a person. Incremental like fct_enterprise_annual: keyed on filing_id. -#}
{{ config(**filing_fact_config('int_contract__latest_filings')) }}

with filings as (
    {{ new_filings('int_contract__latest_filings') }}
),

contract_types as (
    select contract_type_key, contract_type, valid_from_year, reported_as_before_2021 from {{ ref('dim_contract_type') }}
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

tech_market_fields as (
    select tech_market_field_key, tech_market_field from {{ ref('dim_tech_market_field') }}
),

typed as (
    select
        filings.*,
        contract_types.contract_type_key,
        -- a licence signed before the Civil Code took effect (2021-01-01) counts as a transfer (domain-rules §8);
        -- the signing date decides, the reporting year only where the signing date is missing
        case
            when coalesce(
                filings.signed_on < {{ year_start('contract_types.valid_from_year') }},
                filings.period < contract_types.valid_from_year
            ) then contract_types.reported_as_before_2021
            else filings.contract_type
        end as contract_type_reported
    from filings
    left join contract_types on contract_types.contract_type = filings.contract_type
),

final as (
    select
        -- keys
        typed.filing_id,
        typed.contract_no,
        typed.period,
        -- foreign keys
        coalesce(periods.period_key, {{ missing_member_key() }}) as period_key,
        coalesce(typed.contract_type_key, {{ missing_member_key() }}) as contract_type_key,
        -- contracts are classified by the technology-market fields, not the high-tech fields of dim_tech_field:
        -- tech_field_key stays for the readers that select it and is always the missing member
        {{ missing_member_key() }} as tech_field_key,
        coalesce(tech_market_fields.tech_market_field_key, {{ missing_member_key() }}) as tech_market_field_key,
        coalesce(sellers.enterprise_key, {{ missing_member_key() }}) as seller_enterprise_key,
        coalesce(buyers.enterprise_key, {{ missing_member_key() }}) as buyer_enterprise_key,
        coalesce(seller_regions.region_key, {{ missing_member_key() }}) as seller_region_key,
        coalesce(buyer_regions.region_key, {{ missing_member_key() }}) as buyer_region_key,
        -- attributes
        typed.contract_type,
        typed.contract_type_reported,
        typed.registry_code,
        typed.registry_region_code,
        typed.signed_on,
        typed.registered_on,
        typed.seller_uscc,
        typed.seller_type,
        typed.seller_region_code,
        {{ province_of('typed.seller_region_code') }} as seller_province_code,
        typed.buyer_uscc,
        typed.buyer_type,
        typed.buyer_region_code,
        {{ province_of('typed.buyer_region_code') }} as buyer_province_code,
        typed.tech_field,
        typed.ip_type,
        -- measures (万元)
        typed.amount,
        typed.tech_amount,
        -- audit
        typed.revision,
        typed.submitted_at,
        typed.channel as source_channel,
        typed.source,
        typed.loaded_at
    from typed
    left join periods on periods.period = typed.period
    left join tech_market_fields on tech_market_fields.tech_market_field = typed.tech_field
    left join enterprises as sellers on sellers.uscc = typed.seller_uscc
    left join enterprises as buyers on buyers.uscc = typed.buyer_uscc
    left join regions as seller_regions on seller_regions.division_code = typed.seller_region_code
    left join regions as buyer_regions on buyer_regions.division_code = typed.buyer_region_code
)

select * from final
