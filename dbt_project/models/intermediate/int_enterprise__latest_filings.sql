{#- Downstream sees one row per filing: its latest revision, whichever channel delivered it. -#}
with filings as (
    select * from {{ ref('stg_files__enterprise') }}
    union all
    select * from {{ ref('stg_api__enterprise') }}
),

latest as (
    {{ latest_revision('filings') }}
),

final as (
    select
        *,
        {{ uscc_checksum_ok('uscc') }} as uscc_valid,
        coalesce(revenue > employees * {{ var('max_revenue_per_employee_thousand_yuan') }}, false) as amount_unit_suspect
    from latest
)

select * from final
