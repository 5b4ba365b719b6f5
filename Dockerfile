FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
COPY moderation ./moderation
# The catalogs are compiled before the package is installed, so the installed package
# carries the .mo files (its package data); the Alembic migrations (storage/migrations)
# are package data too, which `together-bot db upgrade` reads from the installed package.
# The data directory is created here, owned by the bot's user: a named volume mounted on
# it starts with that owner.
RUN pip install --no-cache-dir "babel>=2.16,<3" \
    && pybabel compile -d bot/i18n/locales -D messages \
    && pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 --user-group together \
    && mkdir -p /data \
    && chown 10001:10001 /data \
    && chmod 0700 /data
USER 10001:10001
ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
EXPOSE 8080
# Liveness (/healthz), not readiness: an orchestrator restarts an unhealthy container, and
# a restart mends a hung process but not a database outage or a pending migration, which
# /readyz also reports. Readiness is the proxy's business (deploy/Caddyfile).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
CMD ["together-bot", "run"]
