{#- The history of enterprise labels (高新技术企业 certificate, 科技型中小企业 registration, listing), one row per label
    and validity period; see int_enterprise__labels for how each period is derived. -#}
{{ config(**enterprise_scope_config()) }}

with labels as (
    select * from {{ ref('int_enterprise__labels') }}
    {{ of_touched_enterprises() }}
),

enterprises as (
    select enterprise_key, uscc from {{ ref('dim_enterprise') }}
    {{ of_touched_enterprises() }}
),

final as (
    select
        -- keys
        labels.label_key,
        -- foreign keys
        coalesce(enterprises.enterprise_key, {{ missing_member_key() }}) as enterprise_key,
        labels.uscc,
        -- attributes
        labels.label,
        labels.reference_no,
        labels.valid_from,
        labels.valid_to,
        labels.granted_before_established,
        -- audit
        labels.first_reported_period,
        labels.last_reported_period
    from labels
    left join enterprises on enterprises.uscc = labels.uscc
)

select * from final
