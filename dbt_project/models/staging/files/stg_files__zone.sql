{{ stage_raw('zone_files') }}
