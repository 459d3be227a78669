from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("<int:org>/", views.subscription_list, name="subscription_list"),
    path("<int:org>/new/", views.subscription_create, name="subscription_create"),
    path("<int:org>/<int:pk>/", views.subscription_detail, name="subscription_detail"),
    path("<int:org>/<int:pk>/test/", views.subscription_test, name="subscription_test"),
    path("<int:org>/<int:pk>/rotate/", views.subscription_rotate, name="subscription_rotate"),
    path("<int:org>/<int:pk>/active/", views.subscription_active, name="subscription_active"),
    path("<int:org>/<int:pk>/delete/", views.subscription_delete, name="subscription_delete"),
    path(
        "<int:org>/<int:pk>/deliveries/<int:delivery>/retry/",
        views.delivery_retry,
        name="delivery_retry",
    ),
]
