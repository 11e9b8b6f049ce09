{#- One report per national high-tech zone and reporting year: the later submission when a year was filed twice. -#}
with filings as (
    select * from {{ ref('int_zone__latest_filings') }}
),

final as (
    {{ latest_report_per_period('filings', 'zone_code') }}
)

select * from final
