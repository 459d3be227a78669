# Bengali groups as South Asia does (CLDR "#,##,##0.###"): 12,50,000.
NUMBER_GROUPING = (3, 2, 0)
