{#- Shares and thresholds, written once for every rule.

    A measured share is reported as a double (`share`). Whether it meets an official threshold is decided by
    cross-multiplying in exact 38-digit decimals (`share_at_least`), so a value exactly at the threshold passes even
    where its quotient has no exact binary form (0.07 * 100 is not 7 in doubles), and national sums cannot overflow.
    A missing or non-positive base gives no share and fails. -#}

{% macro share(part, whole) -%}
    case when {{ whole }} > 0 then cast({{ part }} as double) / cast({{ whole }} as double) end
{%- endmacro %}

{% macro share_at_least(part, whole, threshold) -%}
    coalesce(
        {{ whole }} > 0
        and cast({{ part }} as decimal(38, 6)) >= cast({{ threshold }} as decimal(38, 6)) * cast({{ whole }} as decimal(38, 6)),
        false
    )
{%- endmacro %}

{#- A count or amount at least a threshold; missing fails. -#}
{% macro at_least(value, threshold) -%}
    coalesce({{ value }} >= {{ threshold }}, false)
{%- endmacro %}

{#- A count or amount at most a limit (limits in the rules are inclusive: "不超过"); missing fails. -#}
{% macro at_most(value, limit) -%}
    coalesce({{ value }} <= {{ limit }}, false)
{%- endmacro %}
