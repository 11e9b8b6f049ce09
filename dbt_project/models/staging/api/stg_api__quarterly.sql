{{ stage_raw('quarterly_api') }}
