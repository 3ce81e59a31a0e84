"""URL routes: the admin (agents, managers), the managers' dashboards, the API, its schema and docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from helpdesk import dashboards

urlpatterns = [
    # Before the admin's own routes: the dashboards live inside the admin's look and address space.
    path("admin/dashboard/", dashboards.dashboard, name="dashboard"),
    path("admin/dashboard/<slug:section>.csv", dashboards.dashboard_csv, name="dashboard-csv"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("helpdesk.api.urls")),
]

handler404 = "helpdesk.api.views.page_not_found"
