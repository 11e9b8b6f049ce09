{{ latest_filings('incubator') }}
