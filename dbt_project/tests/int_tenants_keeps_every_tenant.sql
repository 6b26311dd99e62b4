{#- int_tenants has exactly the declared tenants: a missing or doubled row of the seed
    tenant_defaults (it is cross-joined) would drop or multiply every tenant. -#}
select
    (select count(*) from {{ ref('stg_landing__tenants') }}) as declared,
    (select count(*) from {{ ref('int_tenants') }}) as with_settings
where (select count(*) from {{ ref('stg_landing__tenants') }})
    <> (select count(*) from {{ ref('int_tenants') }})
