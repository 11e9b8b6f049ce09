with source as (
    select * from {{ source('raw', 'enterprise_files') }}
),

final as (
    select
        -- keys
        filing_id,
        revision,
        period,
        uscc,
        -- attributes
        name,
        region_code,
        zone_code,
        industry_code,
        tech_field,
        established_on,
        hte_cert_no,
        hte_cert_date,
        sme_reg_no,
        listed,
        contact_phone,
        -- measures (money in 千元)
        employees,
        st_staff,
        rd_staff,
        graduates,
        revenue,
        hightech_revenue,
        industrial_output,
        net_profit,
        taxes_paid,
        exports,
        total_assets,
        total_cost,
        rd_expense,
        rd_expense_domestic,
        patent_applications,
        invention_grants,
        valid_invention_patents,
        class2_ip,
        pct_applications,
        energy_tce,
        -- audit
        submitted_at,
        _channel as channel,
        _source as source,
        _source_sha256 as source_sha256,
        _row_number as source_row,
        _loaded_at as loaded_at
    from source
)

select * from final
