{{ stage_raw('enterprise_files') }}
