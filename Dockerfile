# One image for every production process: gunicorn web (the default), Celery worker and beat,
# and the one-shot migrate job (docker-compose.yml sets their commands).
FROM python:3.11-slim

# The processes run from the source tree in /app (PYTHONPATH), not from the installed wheel: the
# wheel carries no templates or static files, and config.settings finds templates/ beside config/.
# Static files are collected outside var/, so a volume mounted on var/ never hides them.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    XIAODAI_VAR_DIR=/app/var \
    DJANGO_STATIC_ROOT=/app/staticfiles

RUN groupadd --system --gid 10001 xiaodai \
    && useradd --system --uid 10001 --gid xiaodai --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin xiaodai

WORKDIR /app
COPY . /app

# The project and its runtime dependencies from pyproject.toml; no dev extras.
RUN pip install /app \
    && rm -rf /app/build /app/*.egg-info

# Static files once, at build time. The keys only let settings load with DEBUG off (they refuse
# to start without them); they are not in the runtime environment, which must set its own.
RUN DJANGO_DEBUG=0 \
    DJANGO_SECRET_KEY=build-only-collectstatic-key-never-used-at-runtime-0123456789 \
    FIELD_ENCRYPTION_KEY=build-only-collectstatic-key-never-used-at-runtime \
    API_KEY_HASH_KEY=build-only-collectstatic-key-never-used-at-runtime \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown -R xiaodai:xiaodai /app/var

USER xiaodai
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
