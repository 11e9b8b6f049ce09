{#- The 11 technology-market fields (全国技术市场统计, domain-additions §2) by which technology contracts are counted,
    plus the missing member (a contract filed without a field). Not the 8 high-tech fields of dim_tech_field. -#}
{{ field_dimension('ref_tech_market_fields', 'tech_market_field') }}
