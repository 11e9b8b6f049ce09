{#- The green development account of each zone and year (国家高新区绿色发展账户): energy and CO₂ by carrier, value
    added, their intensities and changes, decoupling, renewable share, water and waste intensities. One definition:
    analytics.mart_zone_green_account publishes it and the zone evaluation's green indicators read it.
    CO₂ = fuel quantities x ref_fuel_co2_factors (U) + electricity x the MEE/NBS 电力平均 factor of the zone's
    regional grid (ref_province_grids) and year, or a fallback (electricity_factor_rule):
      1 regional_same_year, 2 regional_earlier_year (nearest), 3 national_same_year, 4 national_earlier_year
      (nearest), 5 national_later_year (earliest). A missing input gives an empty value, never zero. CO₂ is
    rounded to 0.1 kg, intensities, changes and shares to 6 places (the zone evaluation reads them so). -#}

with zones as (
    select * from {{ ref('int_zone__annual') }}
),

provinces as (
    select province_code, region from {{ ref('ref_provinces') }}
),

province_grids as (
    select province_code, grid, certainty from {{ ref('ref_province_grids') }}
),

grid_factors as (
    select * from {{ ref('ref_grid_co2_factors') }}
),

fuel_factors as (
    select
        max(case when carrier = 'coal' then tco2_per_physical_unit end) as coal,
        max(case when carrier = 'oil' then tco2_per_physical_unit end) as oil,
        max(case when carrier = 'gas' then tco2_per_physical_unit end) as gas,
        max(case when carrier = 'heat' then tco2_per_physical_unit end) as heat,
        max(case when carrier = 'coal' then certainty end) as coal_certainty,
        max(case when carrier = 'oil' then certainty end) as oil_certainty,
        max(case when carrier = 'gas' then certainty end) as gas_certainty,
        max(case when carrier = 'heat' then certainty end) as heat_certainty
    from {{ ref('ref_fuel_co2_factors') }}
),

located as (
    select
        zones.*,
        provinces.region,
        province_grids.grid as electricity_grid,
        province_grids.certainty as grid_certainty
    from zones
    left join provinces on provinces.province_code = zones.province_code
    left join province_grids on province_grids.province_code = zones.province_code
),

electricity_candidates as (
    select
        located.zone_code,
        located.period,
        grid_factors.grid as factor_grid,
        grid_factors.year as factor_year,
        grid_factors.tco2_per_mwh,
        grid_factors.certainty,
        case
            when grid_factors.grid = located.electricity_grid and grid_factors.year = located.period then 1
            when grid_factors.grid = located.electricity_grid and grid_factors.year < located.period then 2
            when grid_factors.grid = '全国' and grid_factors.year = located.period then 3
            when grid_factors.grid = '全国' and grid_factors.year < located.period then 4
            when grid_factors.grid = '全国' then 5
        end as rule_rank
    from located
    inner join grid_factors
        on grid_factors.grid = located.electricity_grid or grid_factors.grid = '全国'
),

electricity_factors as (
    select *
    from (
        select
            electricity_candidates.*,
            row_number() over (
                partition by zone_code, period
                order by rule_rank, abs(factor_year - period)
            ) as pick
        from electricity_candidates
        where rule_rank is not null
    ) ranked
    where pick = 1
),

accounted as (
    select
        located.zone_code,
        located.period,
        located.province_code,
        located.region,
        located.energy_tce,
        located.coal_tce,
        located.oil_tce,
        located.gas_tce,
        located.electricity_tce,
        located.heat_tce,
        {{ co2_tonnes('located.coal_t', 'fuel_factors.coal') }} as co2_coal_t,
        {{ co2_tonnes('located.oil_t', 'fuel_factors.oil') }} as co2_oil_t,
        {{ co2_tonnes('located.gas_10k_m3', 'fuel_factors.gas') }} as co2_gas_t,
        -- 10⁴ kWh = 10 MWh
        {{ co2_tonnes('located.electricity_10k_kwh * 10', 'electricity_factors.tco2_per_mwh') }} as co2_electricity_t,
        {{ co2_tonnes('located.heat_gj', 'fuel_factors.heat') }} as co2_heat_t,
        located.co2_tonnes as co2_t_filed,
        located.value_added,
        located.coal_t,
        located.oil_t,
        located.gas_10k_m3,
        located.heat_gj,
        located.electricity_10k_kwh,
        located.renewable_electricity_10k_kwh,
        located.water_10k_t,
        located.solid_waste_t,
        located.solid_waste_reused_t,
        located.green_ratio,
        located.electricity_grid,
        electricity_factors.factor_grid as electricity_factor_grid,
        electricity_factors.factor_year as electricity_factor_year,
        electricity_factors.tco2_per_mwh as electricity_factor_tco2_per_mwh,
        case electricity_factors.rule_rank
            when 1 then 'regional_same_year'
            when 2 then 'regional_earlier_year'
            when 3 then 'national_same_year'
            when 4 then 'national_earlier_year'
            when 5 then 'national_later_year'
        end as electricity_factor_rule,
        -- the weakest mark of the factors behind co2_t (only carriers the zone used; the province's grid when a
        -- regional factor was used)
        least(
            case when located.coal_t > 0 then {{ certainty_rank('fuel_factors.coal_certainty') }} end,
            case when located.oil_t > 0 then {{ certainty_rank('fuel_factors.oil_certainty') }} end,
            case when located.gas_10k_m3 > 0 then {{ certainty_rank('fuel_factors.gas_certainty') }} end,
            case when located.heat_gj > 0 then {{ certainty_rank('fuel_factors.heat_certainty') }} end,
            case when located.electricity_10k_kwh > 0 then {{ certainty_rank('electricity_factors.certainty') }} end,
            case when located.electricity_10k_kwh > 0 and electricity_factors.factor_grid <> '全国'
                then {{ certainty_rank('located.grid_certainty') }} end
        ) as weakest_certainty_rank
    from located
    cross join fuel_factors
    left join electricity_factors
        on electricity_factors.zone_code = located.zone_code
        and electricity_factors.period = located.period
),

totalled as (
    select
        accounted.*,
        round(co2_coal_t + co2_oil_t + co2_gas_t + co2_electricity_t + co2_heat_t, 4) as co2_t,
        cast(coal_tce + oil_tce + gas_tce + electricity_tce + heat_tce as decimal(18, 4)) as energy_tce_of_carriers
    from accounted
),

{{ green_account_intensities('totalled', 'zone_code') }},

final as (
    select
        -- keys
        zone_code,
        period,
        -- attributes
        province_code,
        region,
        -- measures: energy (tce) and CO₂ (t) by carrier
        energy_tce,
        energy_tce_of_carriers,
        coal_tce,
        oil_tce,
        gas_tce,
        electricity_tce,
        heat_tce,
        co2_t,
        co2_coal_t,
        co2_oil_t,
        co2_gas_t,
        co2_electricity_t,
        co2_heat_t,
        co2_t_filed,
        value_added,
        coal_t,
        oil_t,
        gas_10k_m3,
        heat_gj,
        electricity_10k_kwh,
        renewable_electricity_10k_kwh,
        water_10k_t,
        solid_waste_t,
        solid_waste_reused_t,
        -- intensities and their changes
        {{ green_account_ratios() }},
        -- other green indicators
        round({{ share('renewable_electricity_10k_kwh', 'electricity_10k_kwh') }}, 6) as renewable_electricity_share,
        -- water in 10⁴ t, value added in 千元: t per 万元 = water_10k_t x 10⁴ / (value_added / 10)
        round({{ share('water_10k_t * 100000', 'value_added') }}, 6) as water_intensity_t_per_10k_yuan,
        round({{ share('solid_waste_t * 10', 'value_added') }}, 6) as solid_waste_intensity_t_per_10k_yuan,
        round({{ share('solid_waste_reused_t', 'solid_waste_t') }}, 6) as solid_waste_reuse_rate,
        green_ratio,
        -- audit: which factors were used, and how certain they are
        electricity_grid,
        electricity_factor_grid,
        electricity_factor_year,
        electricity_factor_tco2_per_mwh,
        electricity_factor_rule,
        electricity_factor_rule <> 'regional_same_year' as electricity_factor_fallback,
        {{ certainty_mark('weakest_certainty_rank') }} as factor_certainty
    from compared
)

select * from final
