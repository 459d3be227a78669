"""Writes about training. One module per part of the module cycle:

- ``enrolment``: certifications, cohorts, enrolments and the steps of a cycle;
- ``certificates``: completion certificates (code, rendering, revocation, reissue).
"""

from training.services.enrolment import (
    TrainingError,
    certify_trainer,
    create_cohort,
    enrol_factory,
)

__all__ = ["TrainingError", "certify_trainer", "create_cohort", "enrol_factory"]
