"""Training pages, one module per area: the catalogue and cohorts, enrolments, certificates."""
