{#- The 8 high-tech fields (国家重点支持的高新技术领域) by which enterprise filings are classified, plus the missing
    member (no field, or a value outside the list). Contracts use dim_tech_market_field. -#}
{{ field_dimension('ref_tech_fields', 'tech_field') }}
