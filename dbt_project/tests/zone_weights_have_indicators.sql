{#- Every second-level indicator a zone evaluation version weighs is computed (macro zone_indicators); a seed row
    without a computation would silently score nothing. -#}
select evaluation_version, indicator_key
from {{ ref('ref_zone_weights') }}
where level = 2
  and indicator_key not in (
    {%- for key, expression in zone_indicators() %}'{{ key }}'{{ ", " if not loop.last }}{% endfor -%}
  )
