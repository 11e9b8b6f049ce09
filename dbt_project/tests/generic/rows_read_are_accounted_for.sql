{#- Every row read from a landed delivery was either landed or quarantined: nothing is lost silently. -#}
{% test rows_read_are_accounted_for(model) %}
    select *
    from {{ model }}
    where status = 'landed' and rows_read <> rows_landed + rows_quarantined
{% endtest %}
