# Amparo's image: the same gunicorn, workers and commands as a Debian install (docs/operations.md).
# Build: docker build -t amparo .   Run: deploy/compose.yaml (Amparo, its workers, PostgreSQL, nginx).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    AMPARO_DATA_DIR=/var/lib/amparo PROMETHEUS_MULTIPROC_DIR=/run/amparo-web

# postgresql-client: pg_dump/pg_restore for `amparo backup`; gettext: compiled catalogues are shipped.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system amparo && useradd --system --gid amparo --home-dir /var/lib/amparo amparo \
    && install -d -o amparo -g amparo -m 0700 /var/lib/amparo /run/amparo-web /var/backups/amparo

WORKDIR /opt/amparo
COPY pyproject.toml README.md ./
COPY amparo ./amparo
RUN pip install --no-cache-dir ".[s3,rq]"

USER amparo
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["python", "-m", "gunicorn", "amparo.wsgi:application", "--bind", "0.0.0.0:8000", \
     "--workers", "3", "--threads", "4", "--worker-class", "gthread", "--timeout", "120", \
     "--access-logfile", "-", "--access-logformat", "%(t)s \"%(m)s %(U)s\" %(s)s %(M)sms rid=%({x-request-id}o)s"]
