from django.urls import path

from suppliers import views

app_name = "suppliers"
urlpatterns = [
    path("", views.factory_list, name="factory_list"),
    path("factories/<int:pk>/", views.factory_detail, name="factory_detail"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
]
