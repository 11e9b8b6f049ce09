{#- Downstream sees one row per filing: its latest revision, whichever channel delivered it. -#}
{{ config(**latest_filings_config('enterprise')) }}

with latest as (
    {{ latest_filings('enterprise') }}
),

final as (
    select
        *,
        {{ uscc_checksum_ok('uscc') }} as uscc_valid,
        coalesce(revenue > employees * {{ var('max_revenue_per_employee_thousand_yuan') }}, false) as amount_unit_suspect
    from latest
)

select * from final
