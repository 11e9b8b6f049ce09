{{ latest_filings('quarterly') }}
