# gongzhi — container image recipe for operators (issue #10).
#
# NOT BUILT IN CI: the CI machines have no container engine (no docker/podman), so nothing checks
# this file automatically. Build and try it where you have one:
#     docker build -t gongzhi .
#     docker compose up            # app + PostgreSQL + Redis, see compose.yaml
#
# The image runs `gongzhi serve` as an unprivileged user; every setting comes from the environment
# (or GONGZHI_SETTINGS_FILE), see README.md "Settings". Migrations are a separate, one-off step run
# with the owner's URL: `docker compose run --rm migrate`.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml constraints.txt README.md ./
COPY gongzhi ./gongzhi
COPY models ./models
COPY tenants ./tenants
COPY policies ./policies
COPY resolvers ./resolvers
COPY schema ./schema
COPY compiled ./compiled
COPY migrations ./migrations
COPY alembic.ini ./
COPY examples/operations ./examples/operations
RUN python -m venv /opt/gongzhi \
 && /opt/gongzhi/bin/pip install -c constraints.txt .
# The source tree's bytecode, made here: at run time the unprivileged user may not write __pycache__
# next to the sources, so every start compiled some 280 modules again (≈ 0.25 s of CPU per process,
# issue #21). checked-hash: a .pyc is used only while its source is unchanged, whatever the mtimes.
RUN /opt/gongzhi/bin/python -m compileall -q --invalidation-mode checked-hash gongzhi models tenants policies resolvers schema compiled migrations
# the OTLP exporter for OTEL_TRACES_EXPORTER=otlp (not pinned in constraints.txt: optional)
RUN /opt/gongzhi/bin/pip install opentelemetry-exporter-otlp-proto-http=="$(/opt/gongzhi/bin/pip show opentelemetry-sdk | sed -n 's/^Version: //p')"

FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /srv/gongzhi gongzhi
COPY --from=build /opt/gongzhi /opt/gongzhi
COPY --from=build /src /srv/gongzhi
WORKDIR /srv/gongzhi
# the source tree first on the path: gongzhi finds alembic.ini, migrations/ and examples/ next to it
ENV PATH=/opt/gongzhi/bin:$PATH \
    PYTHONPATH=/srv/gongzhi \
    PYTHONUNBUFFERED=1 \
    GONGZHI_UPLOAD_DIR=/var/lib/gongzhi/uploads \
    GONGZHI_LOG_FORMAT=json
RUN mkdir -p /var/lib/gongzhi/uploads && chown -R gongzhi /var/lib/gongzhi
USER gongzhi
EXPOSE 8000
# SIGTERM (docker stop) lets in-flight requests finish: give it GONGZHI_SHUTDOWN_TIMEOUT + a margin
# (docker stop -t 40 / stop_grace_period in compose.yaml).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["gongzhi", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
