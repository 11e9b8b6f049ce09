{{ latest_filings('contract') }}
