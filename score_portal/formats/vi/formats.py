# Vietnamese groups thousands with a dot (CLDR); Django's own formats set no grouping.
NUMBER_GROUPING = 3
