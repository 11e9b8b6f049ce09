{{ stage_raw('enterprise_api') }}
