{#- Every delivery attempt and what became of its rows. The ledger is append-only: a source re-delivered keeps its
    earlier attempts here, and `is_current` marks the attempt whose rows are in raw now. -#}
with ledger as (
    select * from {{ source('raw', 'ingest_accounting') }}
),

ranked as (
    select
        *,
        row_number() over (partition by family, channel, source order by loaded_at desc) as attempt_recency,
        row_number() over (
            partition by family, channel, source
            order by case when status = 'landed' then 0 else 1 end, loaded_at desc
        ) as landed_recency
    from ledger
),

final as (
    select
        -- keys
        family,
        channel,
        source,
        loaded_at,
        -- attributes
        status,
        sha256,
        encoding,
        message,
        -- measures
        rows_read,
        rows_landed,
        rows_quarantined,
        -- audit
        attempt_recency = 1 as is_latest_attempt,
        status = 'landed' and landed_recency = 1 as is_current
    from ranked
)

select * from final
