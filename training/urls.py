from django.urls import path

from training.views import catalogue, cohorts, enrolments

app_name = "training"
urlpatterns = [
    path("modules/", catalogue.module_list, name="module_list"),
    path("cohorts/", cohorts.cohort_list, name="cohort_list"),
    path("cohorts/new/", cohorts.cohort_create, name="cohort_create"),
    path("cohorts/<int:pk>/", cohorts.cohort_detail, name="cohort_detail"),
    path("enrol/", enrolments.enrol, name="enrol"),
    path("matrix/", enrolments.matrix, name="matrix"),
    path("matrix.csv", enrolments.matrix_csv, name="matrix_csv"),
    path("enrolments/", enrolments.enrolment_list, name="enrolment_list"),
    path("enrolments/<int:pk>/", enrolments.enrolment_detail, name="enrolment_detail"),
    path(
        "enrolments/<int:pk>/<slug:action>/",
        enrolments.enrolment_act,
        name="enrolment_act",
    ),
]
