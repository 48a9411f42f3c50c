# Outreach: one process (python -m bot) with the Telegram bot, the engine's scheduler and /health.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

# A non-root user owning only the data directory (the default SQLite database lives there).
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin outreach \
    && mkdir -p /app/data \
    && chown outreach:outreach /app/data

COPY bot/ bot/
COPY engine/ engine/

USER outreach

EXPOSE 8000

# curl is not in the slim image: ask /health with Python. A 503 raises, so the check fails.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=8)"

# Exec form: python is PID 1 and receives SIGTERM directly (clean shutdown on docker stop).
CMD ["python", "-m", "bot"]
