# Image of the booking-notify console script: `worker` by default, `migrate` for the schema job.
# Built by docker-compose.yml (services migrate and worker); see deploy/README.md.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

# The project, filtered by .dockerignore; the Alembic migrations go in as package data.
WORKDIR /src
COPY . .
RUN pip install --no-cache-dir . \
 && cd / \
 && rm -rf /src

USER app
WORKDIR /home/app

ENTRYPOINT ["booking-notify"]
CMD ["worker"]
