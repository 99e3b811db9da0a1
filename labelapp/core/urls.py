from django.urls import re_path

from .views import spa_index

# Every non-API path is a client-side route of the single-page app.
urlpatterns = [re_path(r"^(?!api/|admin/|static/|media/).*$", spa_index, name="spa")]
