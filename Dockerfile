FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
COPY moderation ./moderation
RUN pip install --no-cache-dir . \
    && pybabel compile -d bot/i18n/locales -D messages \
    && useradd --create-home --uid 10001 together
USER together
ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
EXPOSE 8080
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
CMD ["together-bot", "run"]
