# Amounts are grouped by thousands with a comma, as the Unicode CLDR has it for Chinese
# (Django's own zh-Hans formats leave the separator empty: 1250000 would read 1250000).
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
