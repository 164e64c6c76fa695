# syntax=docker/dockerfile:1
# vibe trading bot: paper-trading daemon image.
#   docker build -t vibe-trading-bot .
#   docker run --rm --env-file .env -p 8080:8080 -v vibe-data:/app/data vibe-trading-bot
# Checked by vibe/tests/deploy (hadolint, and consistency with the settings and routes).

# ---- builder: every wheel the application needs (its own and its dependencies) ----
FROM python:3.11.11-slim-bookworm AS builder

WORKDIR /build
# Only what the wheel is built from; .dockerignore keeps tests, data and caches out.
COPY pyproject.toml README.md ./
COPY vibe ./vibe
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --disable-pip-version-check --wheel-dir /wheels .

# ---- runtime: slim Python with the wheels installed, no compilers, no curl ----
FROM python:3.11.11-slim-bookworm AS runtime

# Fixed IDs: Kubernetes' runAsUser/fsGroup (deploy/k8s/deployment.yaml) must equal them.
RUN groupadd --system --gid 10001 vibe \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin vibe

# Wheels come in through a bind mount, so they never end up in an image layer.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --disable-pip-version-check --no-index /wheels/*.whl

WORKDIR /app
RUN mkdir -p /app/data && chown 10001:10001 /app/data

# Process settings, then the application's (names are settings in
# vibe/trading_bot/config/settings.py). Everything writable lives under /app/data
# (the volume) or /tmp, so the root filesystem can be mounted read-only.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_CACHE_HOME=/tmp/.cache \
    ENVIRONMENT=production \
    LOG_FORMAT=json \
    DATA_DIR=/app/data \
    RESULTS_DIR=/app/data/results \
    CLOUD_SYNC_DIR=/app/data/backups \
    HEALTH_CHECK_HOST=0.0.0.0 \
    HEALTH_CHECK_PORT=8080

VOLUME ["/app/data"]
EXPOSE 8080
USER 10001:10001

# Liveness only (the event loop answers); readiness/startup are for orchestrators.
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HEALTH_CHECK_PORT', '8080') + '/health/live', timeout=4)"]

# The daemon handles SIGTERM itself: an ordered shutdown within SHUTDOWN_TIMEOUT_SECONDS.
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "vibe.trading_bot"]
CMD ["run"]
