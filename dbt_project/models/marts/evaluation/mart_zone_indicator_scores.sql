{#- 国家高新区综合评价 second-level indicator scores, one row per evaluation version, zone, reporting year and
    indicator. Each zone with a national status in the year is evaluated against the others of that year:
    - normalised_score: min-max over the zones evaluated, 1 for the best and 0 for the worst (reversed where lower
      is better); 1 for every zone where all are equal; empty for a zone without a value (it is not
      scored 0: mart_zone_evaluation scores a zone over the indicators it has);
    - points: normalised_score x the indicator's share of its first-level weight (its weight over the weights of
      the indicators computed in that first-level indicator), so a zone's points sum to at most 100.
    The official method of scoring an indicator is not in domain-rules §6; this normalisation is this project's. -#}
with measured as (
    select * from {{ ref('int_zone__indicator_values') }}
),

indicator_values as (
    {%- for key, expression in zone_indicators() %}
    select zone_code, period, '{{ key }}' as indicator_key, {{ key }} as value from measured
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

zones as (
    select zone_key, zone_code, approved_year, revoked_year from {{ ref('dim_zone') }}
),

weights as (
    select * from {{ ref('ref_zone_weights') }}
),

first_level as (
    select evaluation_version, indicator_key, indicator_name, weight
    from weights
    where level = 1
),

second_level as (
    select
        weights.*,
        sum(weight) over (partition by evaluation_version, parent_key) as sibling_weight
    from weights
    where level = 2
),

evaluated as (
    select
        second_level.evaluation_version,
        indicator_values.zone_code,
        indicator_values.period,
        zones.zone_key,
        second_level.parent_key as first_level_key,
        first_level.indicator_name as first_level_name,
        first_level.weight as first_level_weight,
        second_level.indicator_key,
        second_level.indicator_no,
        second_level.indicator_name,
        second_level.higher_is_better,
        second_level.weight as indicator_weight,
        first_level.weight * second_level.weight / second_level.sibling_weight as points_available,
        indicator_values.value
    from indicator_values
    inner join second_level on second_level.indicator_key = indicator_values.indicator_key
    inner join first_level
        on first_level.evaluation_version = second_level.evaluation_version
        and first_level.indicator_key = second_level.parent_key
    inner join zones on zones.zone_code = indicator_values.zone_code
    where (zones.approved_year is null or zones.approved_year <= indicator_values.period)
        and (zones.revoked_year is null or zones.revoked_year > indicator_values.period)
),

bounded as (
    select
        evaluated.*,
        min(value) over peers as lowest,
        max(value) over peers as highest
    from evaluated
    window peers as (partition by evaluation_version, period, indicator_key)
),

normalised as (
    select
        bounded.*,
        case
            when value is null then null
            when highest = lowest then 1
            when higher_is_better then (value - lowest) / (highest - lowest)
            else (highest - value) / (highest - lowest)
        end as normalised_score
    from bounded
),

final as (
    select
        -- keys
        evaluation_version,
        zone_code,
        period,
        indicator_key,
        -- foreign keys
        zone_key,
        -- attributes
        first_level_key,
        first_level_name,
        indicator_no,
        indicator_name,
        higher_is_better,
        -- measures
        value,
        cast(lowest as double) as lowest_value,
        cast(highest as double) as highest_value,
        cast(normalised_score as double) as normalised_score,
        cast(indicator_weight as decimal(8, 4)) as indicator_weight,
        cast(first_level_weight as decimal(8, 4)) as first_level_weight,
        cast(points_available as double) as points_available,
        cast(normalised_score * points_available as double) as points
    from normalised
)

select * from final
