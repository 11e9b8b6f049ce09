{{ stage_raw('contract_api') }}
