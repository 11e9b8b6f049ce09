{{ config(**latest_filings_config('zone')) }}

{{ latest_filings('zone') }}
