{#- 季度经济运行 by zone: one row per zone, year and quarter in which any quarterly report was filed (the zone's own
    or a monitoring point's), over the zone's panel of monitoring-point enterprises (quarterly_panel_totals; the
    zone's own report is not added to it, which would count its enterprises twice). Panel coverage: reporters over
    the enterprises of the zone's annual report of the same year (null before that report is in). -#}
with reports as (
    select * from {{ ref('int_quarterly__reports') }}
),

panel as (
    select * from reports where reporter_type = 'enterprise'
),

quarters as (
    select distinct zone_code, period, quarter from reports
),

totals as (
    {{ quarterly_panel_totals('panel', 'zone_code, period, quarter') }}
),

annual as (
    select zone_code, period, enterprises from {{ ref('int_zone__annual') }}
),

zones as (
    select zone_code, province_code, region from {{ ref('dim_zone') }}
),

final as (
    select
        quarters.zone_code,
        quarters.period,
        quarters.quarter,
        zones.province_code,
        zones.region,
        coalesce(totals.reporters, 0) as reporters,
        coalesce(totals.reporters_single_quarter, 0) as reporters_single_quarter,
        coalesce(totals.reporters_comparable, 0) as reporters_comparable,
        annual.enterprises as annual_enterprises,
        case when annual.enterprises > 0
            then cast(coalesce(totals.reporters, 0) as double) / annual.enterprises end as panel_coverage,
        {%- for m in quarterly_measures() %}
        totals.{{ m }}_ytd,
        totals.{{ m }}_q,
        totals.{{ m }}_yoy_comparable,
        {%- endfor %}
        totals.employees,
        totals.employees_yoy_comparable
    from quarters
    left join totals
        on totals.zone_code = quarters.zone_code
        and totals.period = quarters.period
        and totals.quarter = quarters.quarter
    left join annual on annual.zone_code = quarters.zone_code and annual.period = quarters.period
    left join zones on zones.zone_code = quarters.zone_code
)

select * from final
