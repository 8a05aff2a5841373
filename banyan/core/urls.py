from django.urls import path

from banyan.core import views

app_name = "core"

urlpatterns = [
    path("elder-mode/", views.toggle_elder_mode, name="elder-mode"),
]
