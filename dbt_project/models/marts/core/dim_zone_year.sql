{#- One row per national high-tech zone and year in which it was national: "the zones of year Y" is
    `select * from dim_zone_year where year = Y` (add `and national_certain` for the zones a verified source puts
    there). A zone is national from its approved_year (the reference's year; approved_by_year where the reference
    gives none) until the year before revoked_year. national_certain: from approved_by_year on, a year backed by a
    verified dated count or list (domain-additions §1; see ref_zones' meta in seeds/reference/_reference__seeds.yml).
    Years run from the first zone (1988) to the latest reporting year or the latest zone count in
    ref_national_figures, whichever is later. -#}
with zones as (
    select * from {{ ref('dim_zone') }}
    where zone_key <> {{ missing_member_key() }}
),

bounds as (
    select max(last_year) as last_year
    from (
        select max(period) as last_year from {{ ref('dim_period') }}
        union all
        select max(year) as last_year from {{ ref('ref_national_figures') }} where metric = 'zone_count'
    ) candidates
),

digits as (
    {%- for digit in range(10) %}
    select {{ digit }} as digit {{ "union all" if not loop.last }}
    {%- endfor %}
),

years as (
    select cast(first_year.year + tens.digit * 10 + units.digit + hundreds.digit * 100 as integer) as year
    from (select min(coalesce(approved_year, approved_by_year)) as year from zones) first_year
    cross join digits units
    cross join digits tens
    cross join (select digit from digits where digit < 2) hundreds
),

national as (
    select
        years.year,
        zones.*,
        zones.approved_by_year <= years.year as national_certain
    from zones
    inner join years
        on years.year >= coalesce(zones.approved_year, zones.approved_by_year)
        and (zones.revoked_year is null or years.year < zones.revoked_year)
    cross join bounds
    where years.year <= bounds.last_year
),

final as (
    select
        -- keys
        year,
        zone_code,
        -- foreign keys
        zone_key,
        -- attributes
        zone_name,
        province_code,
        region,
        in_reference,
        national_certain,
        approved_year,
        approved_by_year,
        approved_year_certainty
    from national
)

select * from final
