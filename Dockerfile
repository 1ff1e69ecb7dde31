# syntax=docker/dockerfile:1
# Two stages: the builder installs the project and its dependencies into a venv; the final
# image holds only that venv, the code and a non-root user. See compose.yaml.

FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from the lock (exact versions, hashes checked; cached while the lock
# does not change), then the project itself without resolving anything again.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY core ./core
COPY app ./app
COPY schema ./schema
COPY resolvers ./resolvers
COPY models ./models
COPY workers ./workers
COPY subscriptions ./subscriptions
COPY migrations ./migrations
RUN pip install --no-deps . && python -m compileall -q /opt/venv

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production
RUN groupadd --system --gid 10001 meetings \
    && useradd --system --uid 10001 --gid meetings --home-dir /app --shell /usr/sbin/nologin meetings
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root core ./core
COPY --chown=root:root app ./app
COPY --chown=root:root schema ./schema
COPY --chown=root:root resolvers ./resolvers
COPY --chown=root:root models ./models
COPY --chown=root:root workers ./workers
COPY --chown=root:root subscriptions ./subscriptions
COPY --chown=root:root migrations ./migrations
COPY --chown=root:root pyproject.toml schema.graphql ./
USER meetings
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
# `migrate` and `worker` override the command (compose.yaml); migrations run before this.
CMD ["uvicorn", "app.asgi:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", \
     "--proxy-headers", "--forwarded-allow-ips", "*", \
     "--ws", "app.websocket_protocol:LeanWebSocketProtocol"]
