"""The accounts pages, included under people/users/ (banyan/people/urls.py), namespace
``people:accounts``."""

from django.urls import path

from banyan.people import admin_views

app_name = "accounts"

urlpatterns = [
    path("", admin_views.user_list, name="user-list"),
    path("new/", admin_views.user_new, name="user-new"),
    path("<int:pk>/", admin_views.user_detail, name="user-detail"),
    path("<int:pk>/active/", admin_views.user_active, name="user-active"),
    path("<int:pk>/password/", admin_views.user_password, name="user-password"),
    path("<int:pk>/second-factor/", admin_views.user_second_factor, name="user-second-factor"),
    path("<int:pk>/unlock/", admin_views.user_unlock, name="user-unlock"),
]
