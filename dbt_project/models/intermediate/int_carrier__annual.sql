{#- One report per incubation carrier (USCC) and reporting year: the later submission when a year was filed twice. -#}
with filings as (
    select * from {{ ref('int_incubator__latest_filings') }}
),

final as (
    {{ latest_report('filings', 'uscc, period') }}
)

select * from final
