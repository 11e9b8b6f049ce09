{#- 季度经济运行 by region and for the nation: the zone panels of mart_quarterly_zone_economy rolled up to the NBS
    regions (东部, 中部, 西部, 东北; the zone's region in dim_zone) and to 全国. Growth is recomputed over the
    comparable reporters of the whole roll-up (quarterly_panel_totals), not averaged from the zones' growth. -#}
with panel as (
    select
        reports.*,
        coalesce(zones.region, '未知') as region
    from {{ ref('int_quarterly__reports') }} as reports
    left join {{ ref('dim_zone') }} as zones on zones.zone_code = reports.zone_code
    where reports.reporter_type = 'enterprise'
),

nation as (
    select *, '全国' as scope from panel
    union all
    select *, region as scope from panel
),

final as (
    {{ quarterly_panel_totals('nation', 'scope, period, quarter') }}
)

select
    scope as region,
    period,
    quarter,
    reporters,
    reporters_single_quarter,
    reporters_comparable,
    {%- for m in quarterly_measures() %}
    {{ m }}_ytd,
    {{ m }}_q,
    {{ m }}_yoy_comparable,
    {%- endfor %}
    employees,
    employees_yoy_comparable
from final
