{#- The green account rolled up by NBS region (东部/中部/西部/东北) and for the nation (全国), per year: sums over the
    zones whose account is complete that year (energy, CO₂ and value added all present), intensities recomputed
    from the sums, their changes against the previous year and the base year, and the decoupling status of the
    sums. Zones with an incomplete account are counted, not summed. -#}
with account as (
    select * from {{ ref('int_zone__green_account') }}
),

scoped as (
    select region as scope, account.* from account where region is not null
    union all
    select '全国' as scope, account.* from account
),

summed as (
    select
        scope as region,
        period,
        count(*) as zones,
        sum(case when complete then 1 else 0 end) as zones_with_account,
        sum(case when complete then energy_tce end) as energy_tce,
        -- Summed as exact decimals: a sum of doubles depends on the order the engine adds them in, and DuckDB and
        -- Spark then round a region's total to different last places.
        cast(sum(case when complete then cast(co2_t as decimal(38, 4)) end) as double) as co2_t,
        sum(case when complete then value_added end) as value_added,
        sum(case when complete then electricity_10k_kwh end) as electricity_10k_kwh,
        sum(case when complete then renewable_electricity_10k_kwh end) as renewable_electricity_10k_kwh,
        sum(case when fallback then 1 else 0 end) as zones_with_factor_fallback
    from (
        select
            scoped.*,
            energy_tce is not null and co2_t is not null and value_added > 0 as complete,
            coalesce(electricity_factor_fallback, false) as fallback
        from scoped
    ) zones
    group by scope, period
),

{{ green_account_intensities('summed', 'region') }},

final as (
    select
        -- keys
        region,
        period,
        -- measures
        cast(zones as {{ dbt.type_bigint() }}) as zones,
        cast(zones_with_account as {{ dbt.type_bigint() }}) as zones_with_account,
        cast(energy_tce as decimal(18, 4)) as energy_tce,
        round(co2_t, 4) as co2_t,
        cast(value_added as decimal(18, 4)) as value_added,
        {{ green_account_ratios() }},
        round({{ share('renewable_electricity_10k_kwh', 'electricity_10k_kwh') }}, 6) as renewable_electricity_share,
        -- audit
        cast(zones_with_factor_fallback as {{ dbt.type_bigint() }}) as zones_with_factor_fallback
    from compared
)

select * from final
