{#- 国家级科技企业孵化器认定条件 (科技企业孵化器管理办法, 国科发区〔2018〕300号; domain-rules §7.1), one row per carrier of
    type 孵化器 and reporting year: each threshold measured at the end of the year, with its general and, where the
    rule differs, specialised (专业孵化器) variant. Not checkable from filings: independent legal personality, a
    concentrated site, the specialised incubator's 75% single-industry share and technical platform (the filing's
    专业孵化器 flag is taken as given), and the incubated firms' own conditions. -#}
with carriers as (
    select * from {{ ref('int_carrier__annual') }}
    where carrier_type = '孵化器'
),

checked as (
    select
        carriers.*,
        -- whole years completed by 31 December of the reporting year
        period - extract(year from established_on) as operating_years,
        {{ at_least('period - extract(year from established_on)', var('incubator_min_operating_years')) }} as operating_years_pass,
        {{ at_least('years_reported', var('incubator_min_years_reported')) }} as years_reported_pass,
        {{ at_least('area_total', var('incubator_min_area_m2')) }} as area_pass,
        {{ share_at_least('area_tenants', 'area_total', var('incubator_min_tenant_area_share')) }} as tenant_area_share_pass,
        {{ at_least('seed_fund', var('incubator_min_seed_fund_thousand_yuan')) }} as seed_fund_pass,
        {{ share_at_least('tenants_financed', 'tenants', var('incubator_min_financed_share')) }} as financed_share_pass,
        {{ at_least('fund_cases', var('incubator_min_fund_cases')) }} as fund_cases_pass,
        {{ share_at_least('staff_professional', 'staff', var('incubator_min_professional_staff_share')) }} as professional_staff_share_pass,
        {{ share_at_least('staff_professional', 'tenants', var('incubator_min_staff_per_tenant')) }} as staff_per_tenant_pass,
        {{ share_at_least('mentors', 'tenants', var('incubator_min_mentors_per_tenant')) }} as mentors_per_tenant_pass,
        {{ share_at_least('tenants_with_patent_apps', 'tenants', var('incubator_min_patent_applicant_share')) }}
            or {{ share_at_least('tenants_with_valid_ip', 'tenants', var('incubator_min_valid_ip_share')) }} as ip_pass,
        {{ at_least('tenants', var('incubator_min_tenants')) }} as tenants_pass_general,
        {{ at_least('tenants', var('incubator_specialised_min_tenants')) }} as tenants_pass_specialised,
        {{ share_at_least('tenants * 1000', 'area_total', var('incubator_min_tenants_per_1000m2')) }} as density_pass_general,
        {{ share_at_least('tenants * 1000', 'area_total', var('incubator_specialised_min_tenants_per_1000m2')) }}
            as density_pass_specialised,
        {{ at_least('graduated_total', var('incubator_min_graduated')) }} as graduated_pass_general,
        {{ at_least('graduated_total', var('incubator_specialised_min_graduated')) }} as graduated_pass_specialised
    from carriers
),

outcomes as (
    select
        checked.*,
        operating_years_pass and years_reported_pass and area_pass and tenant_area_share_pass and seed_fund_pass
            and financed_share_pass and fund_cases_pass and professional_staff_share_pass and staff_per_tenant_pass
            and mentors_per_tenant_pass and ip_pass as meets_common_criteria
    from checked
),

final as (
    select
        -- keys
        uscc,
        period,
        -- foreign keys
        {{ surrogate_key(['uscc']) }} as carrier_key,
        filing_id,
        -- attributes
        name,
        level,
        coalesce(specialised, false) as specialised,
        -- outcome
        meets_common_criteria,
        meets_common_criteria and tenants_pass_general and density_pass_general and graduated_pass_general
            as meets_general_criteria,
        coalesce(specialised, false) and meets_common_criteria and tenants_pass_specialised
            and density_pass_specialised and graduated_pass_specialised as meets_specialised_criteria,
        meets_common_criteria and (
            (tenants_pass_general and density_pass_general and graduated_pass_general)
            or (coalesce(specialised, false) and tenants_pass_specialised and density_pass_specialised
                and graduated_pass_specialised)
        ) as meets_national_criteria,
        -- (1) operating years and statistics filed
        established_on,
        cast(operating_years as {{ dbt.type_bigint() }}) as operating_years,
        {{ count_threshold('incubator_min_operating_years') }} as operating_years_min,
        operating_years_pass,
        years_reported,
        {{ count_threshold('incubator_min_years_reported') }} as years_reported_min,
        years_reported_pass,
        -- (2) area
        area_total,
        {{ amount_threshold('incubator_min_area_m2') }} as area_min_m2,
        area_pass,
        area_tenants,
        {{ share('area_tenants', 'area_total') }} as tenant_area_share,
        {{ share_threshold('incubator_min_tenant_area_share') }} as tenant_area_share_min,
        tenant_area_share_pass,
        -- (3) seed fund and investment
        seed_fund,
        {{ amount_threshold('incubator_min_seed_fund_thousand_yuan') }} as seed_fund_min,
        seed_fund_pass,
        tenants_financed,
        {{ share('tenants_financed', 'tenants') }} as financed_share,
        {{ share_threshold('incubator_min_financed_share') }} as financed_share_min,
        financed_share_pass,
        fund_cases,
        {{ count_threshold('incubator_min_fund_cases') }} as fund_cases_min,
        fund_cases_pass,
        -- (4) staff and mentors
        staff,
        staff_professional,
        {{ share('staff_professional', 'staff') }} as professional_staff_share,
        {{ share_threshold('incubator_min_professional_staff_share') }} as professional_staff_share_min,
        professional_staff_share_pass,
        {{ share('staff_professional', 'tenants') }} as staff_per_tenant,
        {{ share_threshold('incubator_min_staff_per_tenant') }} as staff_per_tenant_min,
        staff_per_tenant_pass,
        mentors,
        {{ share('mentors', 'tenants') }} as mentors_per_tenant,
        {{ share_threshold('incubator_min_mentors_per_tenant') }} as mentors_per_tenant_min,
        mentors_per_tenant_pass,
        -- (5) intellectual property of incubated firms (either share suffices)
        tenants_with_patent_apps,
        {{ share('tenants_with_patent_apps', 'tenants') }} as patent_applicant_share,
        {{ share_threshold('incubator_min_patent_applicant_share') }} as patent_applicant_share_min,
        tenants_with_valid_ip,
        {{ share('tenants_with_valid_ip', 'tenants') }} as valid_ip_share,
        {{ share_threshold('incubator_min_valid_ip_share') }} as valid_ip_share_min,
        ip_pass,
        -- (6) incubated firms and density; (8) the specialised variant
        tenants,
        {{ count_threshold('incubator_min_tenants') }} as tenants_min_general,
        {{ count_threshold('incubator_specialised_min_tenants') }} as tenants_min_specialised,
        tenants_pass_general,
        tenants_pass_specialised,
        {{ share('tenants * 1000', 'area_total') }} as tenants_per_1000m2,
        {{ share_threshold('incubator_min_tenants_per_1000m2') }} as tenants_per_1000m2_min_general,
        {{ share_threshold('incubator_specialised_min_tenants_per_1000m2') }} as tenants_per_1000m2_min_specialised,
        density_pass_general,
        density_pass_specialised,
        -- (7) graduated firms; (8) the specialised variant
        graduated_total,
        {{ count_threshold('incubator_min_graduated') }} as graduated_min_general,
        {{ count_threshold('incubator_specialised_min_graduated') }} as graduated_min_specialised,
        graduated_pass_general,
        graduated_pass_specialised
    from outcomes
)

select * from final
