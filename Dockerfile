# syntax=docker/dockerfile:1
# One image for web, worker and beat (docker-compose.yml picks the command).

# --- the React frontend, built with Node 20 ------------------------------------------
FROM node:20-slim AS frontend
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# --- the Django app, Celery and PyTorch (CPU) ------------------------------------------
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --create-home --uid 1000 labelapp
# torch==2.13.0 is pinned: the CPU index serves 2.13.0+cpu, which pip prefers to the
# several-GB CUDA build on PyPI.
COPY requirements.lock requirements-nodeps.lock ./
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.lock \
    && pip install --no-deps -r requirements-nodeps.lock
# The app runs from /app (not pip-installed): settings find frontend/dist and var/ beside it.
COPY manage.py pyproject.toml ./
COPY labelapp/ labelapp/
COPY --from=frontend /frontend/dist frontend/dist
# Static files (the SPA's assets, admin, DRF) are collected into the image; WhiteNoise serves them.
RUN SECRET_KEY=collectstatic-only DJANGO_SETTINGS_MODULE=labelapp.settings.production \
        python manage.py collectstatic --noinput -v 0 \
    && mkdir -p var/cache var/media \
    && chown -R labelapp:labelapp var
USER labelapp
ENV DJANGO_SETTINGS_MODULE=labelapp.settings.production
EXPOSE 8000
CMD ["gunicorn", "labelapp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", \
     "--timeout", "120", "--access-logfile", "-", "--error-logfile", "-"]
