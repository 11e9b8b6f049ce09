{#- 高新技术企业认定条件 (国科发火〔2016〕32号 art. 11, domain-rules §4.1), one row per enterprise and reporting year:
    each criterion the filings allow to compute, measured, with its threshold and whether it holds. A criterion
    whose inputs are missing fails: an R&D window with fewer filed years than the enterprise's age requires
    (rd_ratio_status insufficient_filings), or no revenue in the latest year (revenue_missing), gives no ratio.
    Not computable from filings, hence not in `eligible`: the innovation-ability score (§4.2), whether the IP plays
    a core supporting role, the 183-day rule for staff, outsourced R&D at 80%, and accident/violation records. -#}
{{ config(**enterprise_scope_config()) }}

with reports as (
    select * from {{ ref('int_enterprise__annual') }}
    {{ of_touched_enterprises() }}
),

rd_bands as (
    select * from {{ ref('ref_hte_rd_bands') }}
),

tech_fields as (
    select tech_field from {{ ref('ref_tech_fields') }}
),

windowed as (
    -- the R&D window: this reporting year and the ones before it. It holds the years with both revenue and R&D
    -- filed; the years it must hold are the window's, fewer only for an enterprise founded less long ago (§4.1(5)).
    select
        reports.*,
        count(case when reports.revenue is not null and reports.rd_expense is not null then 1 end)
            over rd_window as rd_window_years,
        least(
            {{ var('hte_rd_window_years') }},
            greatest(1, coalesce(reports.period - extract(year from reports.established_on) + 1, {{ var('hte_rd_window_years') }}))
        ) as rd_window_years_required,
        sum(rd_expense) over rd_window as rd_expense_window,
        sum(rd_expense_domestic) over rd_window as rd_expense_domestic_window,
        sum(revenue) over rd_window as revenue_window
    from reports
    window rd_window as (
        partition by uscc
        order by period
        range between {{ var('hte_rd_window_years') - 1 }} preceding and current row
    )
),

banded as (
    -- the band of the latest year's revenue: the lowest band whose (inclusive) upper bound it does not exceed;
    -- no revenue, no band
    select
        windowed.filing_id,
        min(rd_bands.band) as rd_revenue_band
    from windowed
    inner join rd_bands
        on windowed.revenue is not null
        and (rd_bands.revenue_upper_thousand_yuan is null or windowed.revenue <= rd_bands.revenue_upper_thousand_yuan)
    group by windowed.filing_id
),

measured as (
    select
        windowed.*,
        -- at the application, made in the year after the reporting year: at the earliest on its 1 January
        {{ days_between('windowed.established_on', year_start('windowed.period + 1')) }} as registration_age_days,
        case
            when windowed.revenue is null then 'revenue_missing'
            when windowed.rd_window_years < windowed.rd_window_years_required then 'insufficient_filings'
            else 'computed'
        end as rd_ratio_status,
        coalesce(windowed.valid_invention_patents, 0) + coalesce(windowed.class2_ip, 0) as ip_items,
        tech_fields.tech_field is not null as tech_field_listed,
        banded.rd_revenue_band,
        rd_bands.min_rd_ratio
    from windowed
    left join tech_fields on tech_fields.tech_field = windowed.tech_field
    left join banded on banded.filing_id = windowed.filing_id
    left join rd_bands on rd_bands.band = banded.rd_revenue_band
),

checked as (
    select
        measured.*,
        {{ at_least('registration_age_days', var('hte_min_registration_days')) }} as registration_age_pass,
        {{ at_least('ip_items', var('hte_min_ip_items')) }} as ip_pass,
        tech_field_listed as tech_field_pass,
        {{ share_at_least('st_staff', 'employees', var('hte_min_st_staff_ratio')) }} as st_staff_ratio_pass,
        rd_ratio_status = 'computed'
            and {{ share_at_least('rd_expense_window', 'revenue_window', 'min_rd_ratio') }} as rd_ratio_pass,
        rd_window_years >= rd_window_years_required
            and {{ share_at_least('rd_expense_domestic_window', 'rd_expense_window', var('hte_min_domestic_rd_share')) }}
            as domestic_rd_share_pass,
        {{ share_at_least('hightech_revenue', 'revenue', var('hte_min_hightech_revenue_share')) }}
            as hightech_revenue_share_pass
    from measured
),

final as (
    select
        -- keys
        uscc,
        period,
        -- foreign keys
        {{ surrogate_key(['uscc']) }} as enterprise_key,
        filing_id,
        -- outcome
        registration_age_pass and ip_pass and tech_field_pass and st_staff_ratio_pass and rd_ratio_pass
            and domestic_rd_share_pass and hightech_revenue_share_pass as eligible,
        concat_ws(',',
            case when not registration_age_pass then 'registration_age' end,
            case when not ip_pass then 'ip' end,
            case when not tech_field_pass then 'tech_field' end,
            case when not st_staff_ratio_pass then 'st_staff_ratio' end,
            case when not rd_ratio_pass then 'rd_ratio' end,
            case when not domestic_rd_share_pass then 'domestic_rd_share' end,
            case when not hightech_revenue_share_pass then 'hightech_revenue_share' end
        ) as failed_criteria,
        holds_hte_certificate,
        -- 1 registration age at the application (1 January of the year after the reporting year)
        established_on,
        registration_age_days,
        {{ count_threshold('hte_min_registration_days') }} as registration_age_min_days,
        registration_age_pass,
        -- 2 intellectual property (Class I and II items held)
        cast(ip_items as {{ dbt.type_bigint() }}) as ip_items,
        {{ count_threshold('hte_min_ip_items') }} as ip_min_items,
        ip_pass,
        -- 3 high-tech field
        tech_field,
        tech_field_pass,
        -- 4 S&T staff share
        st_staff,
        employees,
        {{ share('st_staff', 'employees') }} as st_staff_ratio,
        {{ share_threshold('hte_min_st_staff_ratio') }} as st_staff_ratio_min,
        st_staff_ratio_pass,
        -- 5 R&D ratio over the window, threshold by the latest year's revenue band
        rd_window_years,
        cast(rd_window_years_required as {{ dbt.type_bigint() }}) as rd_window_years_required,
        rd_ratio_status,
        cast(rd_expense_window as decimal(18, 4)) as rd_expense_window,
        cast(revenue_window as decimal(18, 4)) as revenue_window,
        {{ share('rd_expense_window', 'revenue_window') }} as rd_ratio,
        revenue,
        rd_revenue_band,
        cast(min_rd_ratio as decimal(6, 4)) as rd_ratio_min,
        rd_ratio_pass,
        -- 5 R&D spent in China, same window
        cast(rd_expense_domestic_window as decimal(18, 4)) as rd_expense_domestic_window,
        {{ share('rd_expense_domestic_window', 'rd_expense_window') }} as domestic_rd_share,
        {{ share_threshold('hte_min_domestic_rd_share') }} as domestic_rd_share_min,
        domestic_rd_share_pass,
        -- 6 high-tech products and services, latest year
        hightech_revenue,
        {{ share('hightech_revenue', 'revenue') }} as hightech_revenue_share,
        {{ share_threshold('hte_min_hightech_revenue_share') }} as hightech_revenue_share_min,
        hightech_revenue_share_pass
    from checked
)

select * from final
