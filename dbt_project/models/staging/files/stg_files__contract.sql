{{ stage_raw('contract_files') }}
