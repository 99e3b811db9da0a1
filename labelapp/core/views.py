from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import ensure_csrf_cookie

FRONTEND_MISSING = """<!doctype html><html><head><title>labelapp</title></head><body>
<h1>labelapp</h1><p>The frontend is not built yet: run <code>make run</code> (or
<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>). The API is at
<a href="/api/docs/">/api/docs/</a>.</p></body></html>"""


@ensure_csrf_cookie
def spa_index(request, *args, **kwargs):
    index = settings.FRONTEND_DIST / "index.html"
    if not index.exists():
        return HttpResponse(FRONTEND_MISSING)
    return HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")
