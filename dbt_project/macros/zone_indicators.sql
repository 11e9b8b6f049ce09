{#- The second-level zone indicators (domain-rules §6) the filings support: (key, SQL over the CTEs of
    int_zone__indicator_values). The keys are the columns of that model and the indicator_key of ref_zone_weights;
    mart_zone_indicator_scores unpivots by the same list. The three green indicators (3.1 单位增加值综合能耗,
    二氧化碳排放量增长率, 总绿地率) are read from the green account (int_zone__green_account, published as
    mart_zone_green_account), their one definition: 3.1 is energy_tce per 万元 of the filed value added (not of
    gdp), CO₂ growth is of the account's CO₂ computed from the carriers (not the filed co2_tonnes). -#}
{% macro zone_indicators() -%}
    {%- set indicators = [
        ('rd_institutions', 'zones.rd_institutions'),
        ('rd_fte_share', share('zones.rd_fte', 'zones.employees')),
        ('rd_intensity', share('zones.rd_expense', 'zones.revenue')),
        ('invention_grants_per_10k_staff', share('coalesce(enterprise_totals.invention_grants, 0) * 10000', 'zones.employees')),
        ('new_enterprises', 'zones.new_enterprises'),
        ('new_sme_registered', 'coalesce(enterprise_totals.sme_registered, 0)'),
        ('new_incubated_firms', 'coalesce(incubation_totals.new_tenants, 0)'),
        ('graduate_share', share('enterprise_totals.graduates', 'enterprise_totals.employees')),
        ('contract_value_per_staff', share('coalesce(contract_totals.amount, 0)', 'zones.employees')),
        ('revenue_net_increase', 'zones.revenue - previous.revenue'),
        ('profit_margin', share('zones.net_profit', 'zones.revenue')),
        ('hte_net_increase', 'case when previous.zone_code is not null then coalesce(enterprise_totals.hte_enterprises, 0) - coalesce(previous_enterprise_totals.hte_enterprises, 0) end'),
        ('energy_per_gdp', 'green.energy_intensity_tce_per_10k_yuan'),
        ('co2_growth', 'green.co2_growth'),
        ('green_ratio', 'green.green_ratio'),
        ('employment_net_increase', 'zones.employees - previous.employees'),
        ('hte_export_share', share('coalesce(enterprise_totals.hte_exports, 0)', 'zones.revenue')),
        ('gdp_share_of_city', share('zones.gdp', 'zones.city_gdp')),
        ('labour_productivity_growth', share(share('zones.gdp', 'zones.employees'), share('previous.gdp', 'previous.employees')) ~ ' - 1'),
        ('rd5_revenue_share', share('coalesce(enterprise_totals.rd5_revenue, 0)', 'zones.revenue')),
        ('listed_enterprises', 'coalesce(enterprise_totals.listed_enterprises, 0)'),
        ('rd5_large_enterprises', 'coalesce(enterprise_totals.rd5_large_enterprises, 0)'),
    ] -%}
    {{ return(indicators) }}
{%- endmacro %}
