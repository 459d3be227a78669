from django.urls import path, re_path

from suppliers import views, views_registry

app_name = "suppliers"
urlpatterns = [
    path("", views.factory_list, name="factory_list"),
    # Only the two formats there are: any other suffix is a 404, never a header value.
    re_path(r"^export\.(?P<fmt>csv|xlsx)$", views.supplier_export, name="export"),
    re_path(
        r"^export/open-supply-hub\.(?P<fmt>csv|xlsx)$",
        views.supplier_export_osh,
        name="export_osh",
    ),
    path("factories/<int:pk>/", views.factory_detail, name="factory_detail"),
    path("links/<int:pk>/restore/", views.link_restore, name="link_restore"),
    path("changes/", views.change_list, name="change_list"),
    path("changes/<int:pk>/decide/", views.change_decide, name="change_decide"),
    path("duplicates/", views_registry.duplicate_list, name="duplicate_list"),
    path("duplicates/search/", views_registry.duplicate_search, name="duplicate_search"),
    path(
        "duplicates/<int:pk>/dismiss/", views_registry.duplicate_dismiss, name="duplicate_dismiss"
    ),
    path("merge/", views_registry.factory_merge, name="factory_merge"),
    path("merges/<int:pk>/", views_registry.merge_detail, name="merge_detail"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_new, name="import_new"),
    path("imports/template.csv", views.import_template, name="import_template"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("imports/<int:pk>/decide/", views.import_decide_all, name="import_decide_all"),
    path("imports/<int:pk>/rows/<int:row_pk>/decide/", views.import_decide, name="import_decide"),
    path("imports/<int:pk>/errors.csv", views.import_errors, name="import_errors"),
]
