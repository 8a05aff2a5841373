"""Open311 GeoReport v2, included under ``/open311/v2/``: every resource ends in ``.xml`` or ``.json``."""

from django.urls import path, re_path

from banyan.response.open311 import views as open311

app_name = "open311"

FORMAT = r"\.(?P<fmt>[A-Za-z0-9]{1,16})$"

urlpatterns = [
    path("", open311.root, name="root"),
    re_path(r"^discovery" + FORMAT, open311.discovery, name="discovery"),
    re_path(r"^services" + FORMAT, open311.service_list, name="services"),
    re_path(r"^services/(?P<code>[^/]{1,64})" + FORMAT, open311.service_definition, name="service"),
    re_path(r"^requests" + FORMAT, open311.requests, name="requests"),
    re_path(r"^requests/(?P<request_id>[^/]{1,64})" + FORMAT, open311.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>[^/]{1,64})" + FORMAT, open311.token_detail, name="token"),
    re_path(r"^(?P<path>.*)" + FORMAT, open311.unknown),
    re_path(r"^.*$", open311.root),
]
