{#- Downstream sees one row per filing: its latest revision, whichever channel delivered it. -#}
with filings as (
    select * from {{ ref('stg_files__incubator') }}
    union all
    select * from {{ ref('stg_api__incubator') }}
),

latest as (
    {{ latest_revision('filings') }}
),

final as (
    select * from latest
)

select * from final
