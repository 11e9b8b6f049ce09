{{ config(**latest_filings_config('incubator')) }}

{{ latest_filings('incubator') }}
