{#- The labels an enterprise held and when, one row per label and validity period (both dates inclusive):
    - hte: a 高新技术企业 certificate, valid var('hte_certificate_valid_years') years from its grant date (§4.2);
      granted_before_established flags a grant date before the enterprise's founding date, and such a
      certificate is never counted as held;
    - sme: a 科技型中小企业 registration, valid for the reporting year it was made in (§5: registration is yearly);
    - listed: consecutive reporting years reported as listed, from 1 January of the first to 31 December of the last.
    Every filing counts, so a certificate reported only in an earlier year still covers the years it is valid. -#}
{{ config(**enterprise_scope_config()) }}

with filings as (
    select * from {{ ref('int_enterprise__latest_filings') }}
    {{ of_touched_enterprises() }}
),

certificates as (
    select
        uscc,
        'hte' as label,
        hte_cert_no as reference_no,
        hte_cert_date as valid_from,
        {{ add_days(add_years('hte_cert_date', var('hte_certificate_valid_years')), -1) }} as valid_to,
        min(period) as first_reported_period,
        max(period) as last_reported_period,
        -- a certificate granted before the enterprise was founded (as any of its filings dates the founding)
        coalesce(hte_cert_date < max(established_on), false) as granted_before_established
    from filings
    where hte_cert_date is not null
    group by uscc, hte_cert_no, hte_cert_date
),

registrations as (
    select
        uscc,
        'sme' as label,
        max(sme_reg_no) as reference_no,
        {{ year_start('period') }} as valid_from,
        {{ year_end('period') }} as valid_to,
        period as first_reported_period,
        period as last_reported_period,
        false as granted_before_established
    from filings
    where sme_reg_no is not null
    group by uscc, period
),

listed_years as (
    select distinct uscc, period
    from filings
    where listed
),

listing_runs as (
    -- consecutive years share period - (their rank): the classic gaps-and-islands grouping
    select
        uscc,
        period,
        period - row_number() over (partition by uscc order by period) as run
    from listed_years
),

listings as (
    select
        uscc,
        'listed' as label,
        cast(null as {{ dbt.type_string() }}) as reference_no,
        {{ year_start('min(period)') }} as valid_from,
        {{ year_end('max(period)') }} as valid_to,
        min(period) as first_reported_period,
        max(period) as last_reported_period,
        false as granted_before_established
    from listing_runs
    group by uscc, run
),

labels as (
    select * from certificates
    union all
    select * from registrations
    union all
    select * from listings
),

final as (
    select
        {{ surrogate_key(['uscc', 'label', 'valid_from', 'reference_no']) }} as label_key,
        uscc,
        label,
        reference_no,
        valid_from,
        valid_to,
        first_reported_period,
        last_reported_period,
        granted_before_established
    from labels
)

select * from final
