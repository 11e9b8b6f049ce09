{{ stage_raw('incubator_files') }}
