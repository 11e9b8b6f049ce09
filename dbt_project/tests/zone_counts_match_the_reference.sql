{#- The zones the reference names, year by year, give the published counts: 169 in 2020 (东部 70 / 中部 44 / 西部 39 /
    东北 16), 173 in 2022 (June: +滁州, 信阳, 克拉玛依, 遵义). The 2022 statistics' 177 and 2023's 178 are not
    checked: the reference does not name the zones that make them. Returns the years and regions that differ. -#}
with expected as (
    select 2020 as year, 'all' as region, 169 as zones union all
    select 2020, '东部', 70 union all
    select 2020, '中部', 44 union all
    select 2020, '西部', 39 union all
    select 2020, '东北', 16 union all
    select 2022, 'all', 173
),

listed as (
    select year, region, zone_code
    from {{ ref('dim_zone_year') }}
    where in_reference and national_certain and year in (2020, 2022)
),

counted as (
    select year, 'all' as region, count(*) as zones from listed group by year
    union all
    select year, region, count(*) from listed group by year, region
)

select expected.year, expected.region, expected.zones as expected_zones, counted.zones as counted_zones
from expected
left join counted on counted.year = expected.year and counted.region = expected.region
where counted.zones is null or counted.zones <> expected.zones
