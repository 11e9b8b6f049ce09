{#- One row per enterprise (USCC), described by its most recent filing, with the labels it held in its latest
    reporting year (their history is dim_enterprise_label), plus the missing member. -#}
{{ config(**enterprise_scope_config(keep="uscc = '-1'")) }}

with filings as (
    select * from {{ ref('int_enterprise__latest_filings') }}
    {{ of_touched_enterprises() }}
),

labels as (
    select * from {{ ref('int_enterprise__labels') }}
    {{ of_touched_enterprises() }}
),

latest_certificates as (
    select * from (
        select
            uscc,
            reference_no,
            valid_from,
            valid_to,
            row_number() over (partition by uscc order by valid_from desc, reference_no desc) as recency
        from labels
        where label = 'hte'
            and not granted_before_established
    ) ranked
    where recency = 1
),

registered as (
    select uscc, max(last_reported_period) as last_registered_period
    from labels
    where label = 'sme'
    group by uscc
),

listed as (
    select uscc, max(last_reported_period) as last_listed_period
    from labels
    where label = 'listed'
    group by uscc
),

descriptions as (
    select
        uscc,
        period,
        submitted_at,
        filing_id,
        uscc_valid,
        name,
        region_code,
        zone_code,
        industry_code,
        tech_field,
        established_on,
        listed
    from filings
),

latest as (
    {{ latest_report('descriptions', 'uscc') }}
),

first_reported as (
    select uscc, min(period) as first_period
    from filings
    group by uscc
),

enterprises as (
    select
        -- keys
        {{ surrogate_key(['latest.uscc']) }} as enterprise_key,
        latest.uscc,
        -- attributes
        latest.uscc_valid,
        latest.name,
        latest.region_code,
        {{ province_of('latest.region_code') }} as province_code,
        latest.zone_code,
        latest.industry_code,
        latest.tech_field,
        latest.established_on,
        latest.listed,
        -- audit
        first_reported.first_period,
        latest.period as last_period,
        -- labels in the latest reporting year
        coalesce(
            {{ held_at_year_end('latest_certificates.valid_from', 'latest_certificates.valid_to', 'latest.period') }},
            false
        ) as is_hte,
        latest_certificates.reference_no as hte_cert_no,
        latest_certificates.valid_from as hte_valid_from,
        latest_certificates.valid_to as hte_valid_to,
        coalesce(registered.last_registered_period = latest.period, false) as is_sme,
        coalesce(listed.last_listed_period = latest.period, false) as is_listed
    from latest
    inner join first_reported on first_reported.uscc = latest.uscc
    left join latest_certificates on latest_certificates.uscc = latest.uscc
    left join registered on registered.uscc = latest.uscc
    left join listed on listed.uscc = latest.uscc
),

missing_member as (
    select
        {{ missing_member_key() }} as enterprise_key,
        '-1' as uscc,
        false as uscc_valid,
        '未知 (unknown)' as name,
        cast(null as {{ dbt.type_string() }}) as region_code,
        cast(null as {{ dbt.type_string() }}) as province_code,
        cast(null as {{ dbt.type_string() }}) as zone_code,
        cast(null as {{ dbt.type_string() }}) as industry_code,
        cast(null as {{ dbt.type_string() }}) as tech_field,
        cast(null as date) as established_on,
        cast(null as boolean) as listed,
        cast(null as {{ dbt.type_bigint() }}) as first_period,
        cast(null as {{ dbt.type_bigint() }}) as last_period,
        false as is_hte,
        cast(null as {{ dbt.type_string() }}) as hte_cert_no,
        cast(null as date) as hte_valid_from,
        cast(null as date) as hte_valid_to,
        false as is_sme,
        false as is_listed
),

final as (
    select * from enterprises
    union all
    select * from missing_member
)

select * from final
