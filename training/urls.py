from django.urls import path

from training.views import (
    catalogue,
    certificates,
    cofunding,
    cohorts,
    enrolments,
    factory_managers,
    kpis,
    placing,
    trainers,
)

app_name = "training"
urlpatterns = [
    path("modules/", catalogue.module_list, name="module_list"),
    path("cohorts/", cohorts.cohort_list, name="cohort_list"),
    path("cohorts/new/", cohorts.cohort_create, name="cohort_create"),
    path("cohorts/<int:pk>/", cohorts.cohort_detail, name="cohort_detail"),
    path("cohorts/<int:pk>/edit/", cohorts.cohort_edit, name="cohort_edit"),
    path("cohorts/<int:pk>/attendance/", cohorts.cohort_attendance, name="cohort_attendance"),
    path("placing/", placing.placing_queue, name="placing_queue"),
    path(
        "factories/<int:pk>/managers/",
        factory_managers.factory_managers,
        name="factory_managers",
    ),
    path("trainers/", trainers.trainer_list, name="trainer_list"),
    path("trainers/<int:pk>/", trainers.trainer_detail, name="trainer_detail"),
    path(
        "trainers/<int:pk>/certifications/",
        trainers.certification_add,
        name="certification_add",
    ),
    path(
        "trainers/<int:pk>/certifications/<int:certification_pk>/revoke/",
        trainers.certification_revoke,
        name="certification_revoke",
    ),
    path("enrol/", enrolments.enrol, name="enrol"),
    path("enrol/cohorts/", enrolments.enrol_cohorts, name="enrol_cohorts"),
    path("matrix/", enrolments.matrix, name="matrix"),
    path("matrix.csv", enrolments.matrix_csv, name="matrix_csv"),
    path("impact/", enrolments.impact, name="impact"),
    path("enrolments/", enrolments.enrolment_list, name="enrolment_list"),
    path("enrolments/<int:pk>/", enrolments.enrolment_detail, name="enrolment_detail"),
    path("enrolments/<int:pk>/kpi/", kpis.reading_record, name="kpi_record"),
    path(
        "enrolments/<int:pk>/kpi/<int:reading_pk>/",
        kpis.reading_correct,
        name="kpi_correct",
    ),
    path(
        "enrolments/<int:pk>/kpi/<int:reading_pk>/delete/",
        kpis.reading_delete,
        name="kpi_delete",
    ),
    path("enrolments/<int:pk>/cofund/", cofunding.cofunding_propose, name="cofunding_propose"),
    path("cofunding/<int:pk>/", cofunding.cofunding_detail, name="cofunding_detail"),
    path("cofunding/<int:pk>/<slug:action>/", cofunding.cofunding_act, name="cofunding_act"),
    path(
        "enrolments/<int:pk>/<slug:action>/",
        enrolments.enrolment_act,
        name="enrolment_act",
    ),
    path("certificates/", certificates.certificate_list, name="certificate_list"),
    path("certificates.zip", certificates.certificates_zip, name="certificates_zip"),
    path("certificates/<int:pk>/", certificates.certificate_detail, name="certificate_detail"),
    path("certificates/<int:pk>/pdf/", certificates.certificate_pdf, name="certificate_pdf"),
    path(
        "certificates/<int:pk>/revoke/", certificates.certificate_revoke, name="certificate_revoke"
    ),
    path(
        "certificates/<int:pk>/reissue/",
        certificates.certificate_reissue,
        name="certificate_reissue",
    ),
]
