{#- 科技型中小企业评价 (国科发政〔2017〕115号 art. 6-7, 国科火字〔2022〕67号; domain-rules §5), one row per enterprise and
    reporting year, scored on that year's filing. Not checkable from filings, hence assumed: residence and
    audited-accounts taxation, an industry outside the negative list, and no accident or dishonesty record
    (conditions 1, 3, 4 of §5.1); direct qualification is checked only by a 高新技术企业 certificate held at year end
    (§5.3(1)) within the size limits; the other direct routes are not computable (direct_qualified_other_routes
    is empty). -#}
{{ config(**enterprise_scope_config()) }}

with reports as (
    select * from {{ ref('int_enterprise__annual') }}
    {{ of_touched_enterprises() }}
),

bands as (
    select * from {{ ref('ref_sme_score_bands') }}
),

indicators as (
    -- every scored indicator as part / whole, so a band is reached by exact cross-multiplication (counts have whole
    -- 1); cast once here to the exact type the comparison uses
    {%- set indicators = [
        ('st_staff_ratio', 'st_staff', 'employees'),
        ('rd_revenue_ratio', 'rd_expense', 'revenue'),
        ('rd_cost_ratio', 'rd_expense', 'total_cost'),
        ('ip_class1', 'valid_invention_patents', '1'),
        ('ip_class2', 'class2_ip', '1'),
    ] %}
    {%- for indicator, part, whole in indicators %}
    select
        filing_id,
        '{{ indicator }}' as indicator,
        cast({{ part }} as decimal(38, 6)) as part,
        cast({{ whole }} as decimal(38, 6)) as whole
    from reports
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

scores as (
    -- per indicator, the highest band whose lower bound is reached; nothing reached (missing data) scores 0
    select
        indicators.filing_id,
        max(case when indicators.indicator = 'st_staff_ratio' then bands.score end) as score_st_staff,
        max(case when indicators.indicator = 'rd_revenue_ratio' then bands.score end) as score_rd_revenue,
        max(case when indicators.indicator = 'rd_cost_ratio' then bands.score end) as score_rd_cost,
        max(case when indicators.indicator = 'ip_class1' then bands.score end) as score_ip_class1,
        max(case when indicators.indicator = 'ip_class2' then bands.score end) as score_ip_class2
    from indicators
    inner join bands
        on bands.indicator = indicators.indicator
        and {{ share_at_least('indicators.part', 'indicators.whole', 'bands.lower_bound') }}
    group by indicators.filing_id
),

scored as (
    select
        reports.*,
        coalesce(scores.score_st_staff, 0) as score_st_staff,
        coalesce(scores.score_rd_revenue, 0) as score_rd_revenue,
        coalesce(scores.score_rd_cost, 0) as score_rd_cost,
        -- R&D input: the enterprise chooses one option, so it gets the better (§5.2)
        greatest(coalesce(scores.score_rd_revenue, 0), coalesce(scores.score_rd_cost, 0)) as score_rd,
        -- one Class I item scores the maximum, so the better of the two IP ladders is the IP score
        greatest(coalesce(scores.score_ip_class1, 0), coalesce(scores.score_ip_class2, 0)) as score_ip,
        {{ at_most('reports.employees', var('sme_max_employees')) }}
            and {{ at_most('reports.revenue', var('sme_max_revenue_thousand_yuan')) }}
            and {{ at_most('reports.total_assets', var('sme_max_total_assets_thousand_yuan')) }} as eligible_size
    from reports
    left join scores on scores.filing_id = reports.filing_id
),

final as (
    select
        -- keys
        uscc,
        period,
        -- foreign keys
        {{ surrogate_key(['uscc']) }} as enterprise_key,
        filing_id,
        -- size (§5.1(2), limits inclusive)
        employees,
        {{ count_threshold('sme_max_employees') }} as employees_max,
        revenue,
        {{ amount_threshold('sme_max_revenue_thousand_yuan') }} as revenue_max,
        total_assets,
        {{ amount_threshold('sme_max_total_assets_thousand_yuan') }} as total_assets_max,
        eligible_size,
        -- S&T staff (§5.2, max 20)
        st_staff,
        {{ share('st_staff', 'employees') }} as st_staff_ratio,
        cast(score_st_staff as integer) as score_st_staff,
        -- R&D input, the better of two options (§5.2, max 50)
        rd_expense,
        total_cost,
        {{ share('rd_expense', 'revenue') }} as rd_revenue_ratio,
        cast(score_rd_revenue as integer) as score_rd_revenue,
        {{ share('rd_expense', 'total_cost') }} as rd_cost_ratio,
        cast(score_rd_cost as integer) as score_rd_cost,
        cast(score_rd as integer) as score_rd,
        -- S&T achievements (§5.2, max 30)
        valid_invention_patents,
        class2_ip,
        cast(score_ip as integer) as score_ip,
        -- outcome
        cast(score_st_staff + score_rd + score_ip as integer) as score_total,
        {{ count_threshold('sme_min_score') }} as score_min,
        -- direct qualification still needs conditions 1-4 (§5.3), so an oversize certificate holder is not
        eligible_size and holds_hte_certificate as direct_qualified,
        -- the other direct routes (national S&T award, provincial R&D institution, leading a standard) are not
        -- in the filings: unknown, never assumed either way
        cast(null as boolean) as direct_qualified_other_routes,
        sme_registered,
        eligible_size and (
            holds_hte_certificate
            or (score_st_staff + score_rd + score_ip >= {{ var('sme_min_score') }} and score_st_staff > 0)
        ) as qualified
    from scored
)

select * from final
