{#- 国家高新区绿色发展账户, published as int_zone__green_account defines it (the zone evaluation's green indicators
    read the same model). -#}
with account as (
    select * from {{ ref('int_zone__green_account') }}
),

final as (
    select * from account
)

select * from final
