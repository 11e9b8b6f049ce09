{{ stage_raw('zone_api') }}
