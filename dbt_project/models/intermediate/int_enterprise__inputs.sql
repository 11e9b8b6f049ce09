{#- What each enterprise's rows downstream are computed from: its latest filings, as a digest of which filing,
    revision and raw row each one is (macros/enterprise_scope.sql). Rebuilt whole on every run: it reads four
    columns of the latest filings. -#}
select
    uscc,
    bit_xor(hash(filing_id, revision, source, source_row, loaded_at)) as inputs_digest,
    count(*) as filings
from {{ ref('int_enterprise__latest_filings') }}
group by uscc
