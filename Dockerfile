# Image of the booking-notify console script: `worker` by default, `migrate` for the schema job.
# Built by docker-compose.yml (services migrate and worker); see deploy/README.md.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    METRICS_ADDRESS=0.0.0.0:9464

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

# The project, filtered by .dockerignore; the Alembic migrations go in as package data. Every
# dependency at the version requirements.lock pins (the versions CI tested), so two builds of
# one commit install the same thing.
WORKDIR /src
COPY . .
RUN pip install --no-cache-dir -c requirements.lock . \
 && cd / \
 && rm -rf /src

USER app
WORKDIR /home/app

# /healthz on METRICS_ADDRESS: the process is alive (compose probes /readyz, which also needs
# Temporal and the database). One-shot commands (migrate) serve nothing and need no probe.
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os, urllib.request; port = os.environ['METRICS_ADDRESS'].rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=3)"

ENTRYPOINT ["booking-notify"]
CMD ["worker"]
