"""The account's pages at the site's root: home, sign-in and sign-out, the second factor."""

from django.contrib.auth import views as auth_views
from django.urls import path

from banyan.people import account_views as views

app_name = "account"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("otp/verify/", views.otp_verify, name="otp-verify"),
    path("otp/setup/", views.otp_setup, name="otp-setup"),
    path("otp/recovery-codes/", views.otp_recovery_codes, name="otp-recovery-codes"),
]
