{{ stage_raw('incubator_api') }}
