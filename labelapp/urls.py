from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("labelapp.api.urls")),
    path("", include("labelapp.core.urls")),
]

handler400 = "labelapp.core.views.bad_request"
handler403 = "labelapp.core.views.permission_denied"
handler404 = "labelapp.core.views.page_not_found"
handler500 = "labelapp.core.views.server_error"
