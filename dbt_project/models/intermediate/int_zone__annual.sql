{#- One report per national high-tech zone and reporting year: the later submission when a year was filed twice. -#}
with filings as (
    select * from {{ ref('int_zone__latest_filings') }}
),

final as (
    {{ latest_report('filings', 'zone_code, period') }}
)

select * from final
