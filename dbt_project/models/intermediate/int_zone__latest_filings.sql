{{ latest_filings('zone') }}
