{#- One row per national high-tech zone: the reference list (ref_zones), plus any zone code that filings carry and
    the list lacks (late-2022 and 2023 additions whose names the reference does not give), named from its latest
    filing; plus the missing member. Status history: national from approved_year (the reference's year, empty where
    it gives none; approved_year_certainty is its mark) and certainly national from approved_by_year (a year backed
    by a verified dated count or list; for a zone known only from filings, its first reporting year) until
    revoked_year (empty: not revoked). dim_zone_year spells this out year by year. -#}
with reference as (
    select * from {{ ref('ref_zones') }}
),

provinces as (
    select * from {{ ref('ref_provinces') }}
),

filings as (
    select * from {{ ref('int_zone__latest_filings') }}
),

reported as (
    select
        zone_code,
        min(period) as first_reported_period,
        max(period) as last_reported_period
    from filings
    group by zone_code
),

latest_filed_names as (
    {{ latest_report('filings', 'zone_code') }}
),

listed as (
    select
        zone_code,
        zone_name,
        zone_short,
        province_code,
        prefecture_code,
        region,
        approved_year,
        approved_by_year,
        approved_year_certainty,
        approval_source,
        revoked_year,
        approval_basis,
        true as in_reference
    from reference
),

unlisted as (
    select
        latest_filed_names.zone_code,
        latest_filed_names.zone_name,
        cast(null as {{ dbt.type_string() }}) as zone_short,
        latest_filed_names.province_code,
        cast(null as {{ dbt.type_string() }}) as prefecture_code,
        provinces.region,
        cast(null as integer) as approved_year,
        -- a zone that files as a national zone was one in that year
        cast(reported.first_reported_period as integer) as approved_by_year,
        cast(null as {{ dbt.type_string() }}) as approved_year_certainty,
        'filings' as approval_source,
        cast(null as integer) as revoked_year,
        cast(null as {{ dbt.type_string() }}) as approval_basis,
        false as in_reference
    from latest_filed_names
    left join provinces on provinces.province_code = latest_filed_names.province_code
    left join reported on reported.zone_code = latest_filed_names.zone_code
    where latest_filed_names.zone_code not in (select zone_code from reference)
),

zones as (
    select * from listed
    union all
    select * from unlisted
),

members as (
    select
        -- keys
        {{ surrogate_key(['zones.zone_code']) }} as zone_key,
        zones.zone_code,
        -- attributes
        zones.zone_name,
        zones.zone_short,
        zones.province_code,
        zones.prefecture_code,
        zones.region,
        zones.approved_year,
        zones.revoked_year,
        zones.approval_basis,
        case when zones.revoked_year is null then '国家级' else '已撤销' end as status,
        zones.in_reference,
        -- audit
        reported.first_reported_period,
        reported.last_reported_period,
        -- approval history (added after the audit columns: published columns keep their order)
        zones.approved_by_year,
        zones.approved_year_certainty,
        zones.approval_source
    from zones
    left join reported on reported.zone_code = zones.zone_code
),

missing_member as (
    select
        {{ missing_member_key() }} as zone_key,
        '-1' as zone_code,
        '未知 (unknown)' as zone_name,
        cast(null as {{ dbt.type_string() }}) as zone_short,
        cast(null as {{ dbt.type_string() }}) as province_code,
        cast(null as {{ dbt.type_string() }}) as prefecture_code,
        cast(null as {{ dbt.type_string() }}) as region,
        cast(null as integer) as approved_year,
        cast(null as integer) as revoked_year,
        cast(null as {{ dbt.type_string() }}) as approval_basis,
        cast(null as {{ dbt.type_string() }}) as status,
        false as in_reference,
        cast(null as {{ dbt.type_bigint() }}) as first_reported_period,
        cast(null as {{ dbt.type_bigint() }}) as last_reported_period,
        cast(null as integer) as approved_by_year,
        cast(null as {{ dbt.type_string() }}) as approved_year_certainty,
        cast(null as {{ dbt.type_string() }}) as approval_source
),

final as (
    select * from members
    union all
    select * from missing_member
)

select * from final
