{#- 国家高新区综合评价 (国科发火〔2021〕106号; domain-rules §6), one row per evaluation version, zone and reporting year:
    the five first-level scores (out of 20/20/15/15/30 in 2021), their total out of 100, the rank among the zones
    evaluated that year and whether the zone is in the bottom decile. Built from mart_zone_indicator_scores, where
    each second-level indicator's value, normalisation and weight can be read. -#}
with indicator_scores as (
    select * from {{ ref('mart_zone_indicator_scores') }}
),

zones as (
    select zone_code, zone_name, province_code, region from {{ ref('dim_zone') }}
),

zone_scores as (
    select
        evaluation_version,
        zone_code,
        period,
        zone_key,
        -- rounded to 6 places: sums of doubles must not show a full score as 20.000000000000004
        round(sum(case when first_level_key = 'innovation' then points else 0 end), 6) as score_innovation,
        round(sum(case when first_level_key = 'structure' then points else 0 end), 6) as score_structure,
        round(sum(case when first_level_key = 'green' then points else 0 end), 6) as score_green,
        round(sum(case when first_level_key = 'openness' then points else 0 end), 6) as score_openness,
        round(sum(case when first_level_key = 'quality' then points else 0 end), 6) as score_quality,
        round(sum(points), 6) as score_total,
        count(*) as indicators_scored,
        sum(case when value is null then 1 else 0 end) as indicators_missing
    from indicator_scores
    group by evaluation_version, zone_code, period, zone_key
),

ranked as (
    select
        zone_scores.*,
        rank() over (partition by evaluation_version, period order by score_total desc) as zone_rank,
        -- counted from the bottom, so zones tied for last are all in the bottom decile
        rank() over (partition by evaluation_version, period order by score_total asc) as rank_from_bottom,
        count(*) over (partition by evaluation_version, period) as zones_evaluated
    from zone_scores
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
        -- standing among the zones evaluated in the year
        cast(ranked.zone_rank as {{ dbt.type_bigint() }}) as rank,
        cast(ranked.zones_evaluated as {{ dbt.type_bigint() }}) as zones_evaluated,
        ranked.rank_from_bottom <= ranked.zones_evaluated * {{ var('zone_bottom_share') }} as bottom_decile,
        -- coverage
        cast(ranked.indicators_scored as {{ dbt.type_bigint() }}) as indicators_scored,
        cast(ranked.indicators_missing as {{ dbt.type_bigint() }}) as indicators_missing
    from ranked
    left join zones on zones.zone_code = ranked.zone_code
)

select * from final
