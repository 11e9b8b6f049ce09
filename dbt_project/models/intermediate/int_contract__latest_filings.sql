{{ config(**latest_filings_config('contract')) }}

{{ latest_filings('contract') }}
