from django.urls import path

from partners import views, views_people

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
    path("organisations/", views_people.organisation_list, name="organisation_list"),
    path("organisations/new/", views_people.organisation_create, name="organisation_create"),
    path(
        "organisations/<int:pk>/people/",
        views_people.organisation_people,
        name="organisation_people",
    ),
    path("organisations/<int:pk>/people/invite/", views_people.people_invite, name="people_invite"),
    path(
        "organisations/<int:pk>/people/<int:member_pk>/role/",
        views_people.member_role,
        name="member_role",
    ),
    path(
        "organisations/<int:pk>/people/<int:member_pk>/remove/",
        views_people.member_remove,
        name="member_remove",
    ),
    path(
        "organisations/<int:pk>/invitations/<int:invitation_pk>/resend/",
        views_people.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "organisations/<int:pk>/invitations/<int:invitation_pk>/revoke/",
        views_people.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invitations/<str:token>/", views_people.invitation_accept, name="invitation_accept"),
]
