{{ config(**latest_filings_config('quarterly')) }}

{{ latest_filings('quarterly') }}
