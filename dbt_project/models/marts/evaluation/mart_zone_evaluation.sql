{#- 国家高新区综合评价 (国科发火〔2021〕106号; domain-rules §6), one row per evaluation version, zone and reporting year:
    the five first-level scores (out of 20/20/15/15/30 in 2021), their total out of 100, the rank among the zones
    ranked that year and whether the zone is in the bottom decile. Built from mart_zone_indicator_scores, where each
    second-level indicator's value, normalisation and weight can be read.
    A zone is scored over the indicators it has: a first-level score is its points over the points available from
    the indicators with a value, scaled to the first-level weight; the total re-weights the same way over the
    first-level indicators with any value. coverage is the share of indicator weight with a value, among the
    indicators some zone has a value for that year. A zone whose
    coverage is below var zone_rank_min_coverage is listed but not ranked (ranking_status 'not rankable (data
    incomplete)', rank null, never in the bottom decile). Every zone national in the year (dim_zone_year) that filed
    nothing is listed too, not rankable, with coverage 0. -#}
with indicator_scores as (
    select * from {{ ref('mart_zone_indicator_scores') }}
),

zones as (
    select zone_code, zone_name, province_code, region from {{ ref('dim_zone') }}
),

national as (
    select year, zone_code, zone_key from {{ ref('dim_zone_year') }}
),

by_level as (
    select
        evaluation_version,
        zone_code,
        period,
        zone_key,
        first_level_key,
        sum(coalesce(points, 0)) as points,
        -- an indicator no zone has a value for in the year (a year-on-year one in the first year of data) is
        -- left out of every zone's weight, so it does not count against coverage
        sum(case when highest_value is not null then points_available else 0 end) as points_available,
        sum(case when value is not null then points_available else 0 end) as points_present,
        count(*) as indicators_scored,
        sum(case when value is null then 1 else 0 end) as indicators_missing
    from indicator_scores
    group by evaluation_version, zone_code, period, zone_key, first_level_key
),

level_scores as (
    select
        by_level.*,
        case when points_present > 0 then points * points_available / points_present end as score
    from by_level
),

zone_scores as (
    select
        evaluation_version,
        zone_code,
        period,
        zone_key,
        -- rounded to 6 places: sums of doubles must not show a full score as 20.000000000000004
        round(max(case when first_level_key = 'innovation' then score end), 6) as score_innovation,
        round(max(case when first_level_key = 'structure' then score end), 6) as score_structure,
        round(max(case when first_level_key = 'green' then score end), 6) as score_green,
        round(max(case when first_level_key = 'openness' then score end), 6) as score_openness,
        round(max(case when first_level_key = 'quality' then score end), 6) as score_quality,
        round(
            sum(score) * sum(points_available)
            / nullif(sum(case when points_present > 0 then points_available else 0 end), 0),
            6) as score_total,
        sum(points_present) / nullif(sum(points_available), 0) as coverage,
        sum(indicators_scored) as indicators_scored,
        sum(indicators_missing) as indicators_missing
    from level_scores
    group by evaluation_version, zone_code, period, zone_key
),

evaluation_years as (
    select distinct evaluation_version, period from zone_scores
),

filed_nothing as (
    select
        evaluation_years.evaluation_version,
        national.zone_code,
        evaluation_years.period,
        national.zone_key,
        cast(null as double) as score_innovation,
        cast(null as double) as score_structure,
        cast(null as double) as score_green,
        cast(null as double) as score_openness,
        cast(null as double) as score_quality,
        cast(null as double) as score_total,
        cast(0 as double) as coverage,
        0 as indicators_scored,
        0 as indicators_missing
    from evaluation_years
    inner join national on national.year = evaluation_years.period
    where not exists (
        select 1 from zone_scores
        where zone_scores.evaluation_version = evaluation_years.evaluation_version
            and zone_scores.period = evaluation_years.period
            and zone_scores.zone_code = national.zone_code
    )
),

listed as (
    select
        zone_scores.*,
        zone_scores.coverage >= {{ var('zone_rank_min_coverage') }} as rankable
    from zone_scores
    union all
    select filed_nothing.*, false as rankable from filed_nothing
),

ranked as (
    select
        listed.*,
        case when rankable then
            rank() over (partition by evaluation_version, period, rankable order by score_total desc)
        end as zone_rank,
        -- counted from the bottom, so zones tied for last are all in the bottom decile
        case when rankable then
            rank() over (partition by evaluation_version, period, rankable order by score_total asc)
        end as rank_from_bottom,
        sum(case when rankable then 1 else 0 end) over (partition by evaluation_version, period) as zones_ranked,
        count(*) over (partition by evaluation_version, period) as zones_listed
    from listed
),

final as (
    select
        -- keys
        ranked.evaluation_version,
        ranked.zone_code,
        ranked.period,
        -- foreign keys
        ranked.zone_key,
        -- attributes
        zones.zone_name,
        zones.province_code,
        zones.region,
        -- first-level scores (points)
        cast(ranked.score_innovation as double) as score_innovation,
        cast(ranked.score_structure as double) as score_structure,
        cast(ranked.score_green as double) as score_green,
        cast(ranked.score_openness as double) as score_openness,
        cast(ranked.score_quality as double) as score_quality,
        cast(ranked.score_total as double) as score_total,
        -- standing among the zones ranked in the year
        cast(ranked.zone_rank as {{ dbt.type_bigint() }}) as rank,
        cast(ranked.zones_ranked as {{ dbt.type_bigint() }}) as zones_evaluated,
        coalesce(ranked.rank_from_bottom <= ranked.zones_ranked * {{ var('zone_bottom_share') }}, false) as bottom_decile,
        -- coverage
        cast(ranked.indicators_scored as {{ dbt.type_bigint() }}) as indicators_scored,
        cast(ranked.indicators_missing as {{ dbt.type_bigint() }}) as indicators_missing,
        cast(ranked.coverage as double) as coverage,
        case when ranked.rankable then 'ranked' else 'not rankable (data incomplete)' end as ranking_status,
        cast(ranked.zones_listed as {{ dbt.type_bigint() }}) as zones_listed
    from ranked
    left join zones on zones.zone_code = ranked.zone_code
)

select * from final
