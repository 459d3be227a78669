from django.urls import path

from partners import views

app_name = "partners"
urlpatterns = [
    path("partnerships/", views.partnership_list, name="partnership_list"),
    path("partnerships/apply/", views.partnership_apply, name="partnership_apply"),
    path("partnerships/<int:pk>/", views.partnership_detail, name="partnership_detail"),
    path("partnerships/<int:pk>/edit/", views.partnership_edit, name="partnership_edit"),
    path(
        "partnerships/<int:pk>/transition/",
        views.partnership_transition,
        name="partnership_transition",
    ),
    path(
        "partnerships/<int:pk>/document/",
        views.partnership_document,
        name="partnership_document",
    ),
]
