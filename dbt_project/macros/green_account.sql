{#- Decoupling of CO₂ from value added between two years (Tapio's terms, simplified to the three cases the green
    account reports): value added grows while emissions fall (absolute), grow slower than it (relative) or as fast
    or faster (none); value added not growing is its own status, and a missing year is empty. -#}
{% macro decoupling_status(value_added_growth, co2_growth) -%}
    case
        when {{ value_added_growth }} is null or {{ co2_growth }} is null then null
        when {{ value_added_growth }} <= 0 then 'value_added_not_growing'
        when {{ co2_growth }} < 0 then 'absolute_decoupling'
        when {{ co2_growth }} < {{ value_added_growth }} then 'relative_decoupling'
        else 'no_decoupling'
    end
{%- endmacro %}

{#- The marks of the reference seeds (V read in the cited source, V2 read only in a secondary source, U recalled or
    not read) as ranks, so the weakest of several is their least; and back. -#}
{% macro certainty_ranks() -%}
    {{ return({'U': 1, 'V2': 2, 'V': 3}) }}
{%- endmacro %}

{% macro certainty_rank(column) -%}
    case {{ column }}{% for mark, rank in certainty_ranks().items() %} when '{{ mark }}' then {{ rank }}{% endfor %} end
{%- endmacro %}

{% macro certainty_mark(rank) -%}
    case {{ rank }}{% for mark, value in certainty_ranks().items() %} when {{ value }} then '{{ mark }}'{% endfor %} end
{%- endmacro %}

{#- The green account's comparisons of a year (relation `current`) with the previous year and the base year
    (relations `previous` and `base`, joined by the caller): growth of value added and CO₂, and the change of each
    intensity, as ratios minus one; empty where either side is missing. Zones and regions are compared alike. -#}
{% macro green_account_changes(current, previous, base) -%}
    {%- set base_year = var('green_account_base_year') -%}
    {%- for measure, name in [('energy_intensity_tce_per_10k_yuan', 'energy_intensity'), ('co2_intensity_t_per_10k_yuan', 'co2_intensity')] %}
    {{ share(current ~ '.' ~ measure, previous ~ '.' ~ measure) }} - 1 as {{ name }}_change_yoy,
    {{ share(current ~ '.' ~ measure, base ~ '.' ~ measure) }} - 1 as {{ name }}_change_vs_{{ base_year }},
    {%- endfor %}
    {{ share(current ~ '.value_added', previous ~ '.value_added') }} - 1 as value_added_growth,
    {{ share(current ~ '.co2_t', previous ~ '.co2_t') }} - 1 as co2_growth
{%- endmacro %}

{#- The intensities and comparisons as published: rounded to 6 places, with the decoupling status. -#}
{% macro green_account_ratios() -%}
    {%- set base_year = var('green_account_base_year') -%}
    {%- for column in ['energy_intensity_tce_per_10k_yuan', 'co2_intensity_t_per_10k_yuan', 'energy_intensity_change_yoy',
        'energy_intensity_change_vs_' ~ base_year, 'co2_intensity_change_yoy', 'co2_intensity_change_vs_' ~ base_year,
        'value_added_growth', 'co2_growth'] %}
        round({{ column }}, 6) as {{ column }},
    {%- endfor %}
        {{ decoupling_status('value_added_growth', 'co2_growth') }} as decoupling_status
{%- endmacro %}

{#- Two CTEs over the CTE `source` (energy_tce, co2_t, value_added in 千元 per `key` and period): `intensities`
    (per 万元, hence x 10) and `compared` (green_account_changes against the same `key`'s previous and base year). -#}
{% macro green_account_intensities(source, key) -%}
intensities as (
    select
        {{ source }}.*,
        {{ share('energy_tce * 10', 'value_added') }} as energy_intensity_tce_per_10k_yuan,
        {{ share('co2_t * 10', 'value_added') }} as co2_intensity_t_per_10k_yuan
    from {{ source }}
),

compared as (
    select
        intensities.*,
        {{ green_account_changes('intensities', 'previous', 'base') }}
    from intensities
    left join intensities as previous
        on previous.{{ key }} = intensities.{{ key }}
        and previous.period = intensities.period - 1
    left join intensities as base
        on base.{{ key }} = intensities.{{ key }}
        and base.period = {{ var('green_account_base_year') }}
)
{%- endmacro %}

{#- CO₂ in tonnes, a quantity times its factor rounded to 0.1 kg, computed in exact decimals: in doubles a product
    that falls on a half rounds one way in DuckDB and the other in Spark. -#}
{% macro co2_tonnes(quantity, factor) -%}
    cast(round(cast({{ quantity }} as decimal(18, 4)) * cast({{ factor }} as decimal(18, 6)), 4) as double)
{%- endmacro %}
