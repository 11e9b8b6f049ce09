{#- Every non-null value lies in [min_value, max_value] (a score on its official scale, a share in [0, 1]). -#}
{% test values_between(model, column_name, min_value, max_value) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}
{% endtest %}
