{{ stage_raw('quarterly_files') }}
