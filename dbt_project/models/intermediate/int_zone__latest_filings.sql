{#- Downstream sees one row per filing: its latest revision, whichever channel delivered it. -#}
with filings as (
    select * from {{ ref('stg_files__zone') }}
    union all
    select * from {{ ref('stg_api__zone') }}
),

latest as (
    {{ latest_revision('filings') }}
),

final as (
    select * from latest
)

select * from final
