# syntax=docker/dockerfile:1
# Incident Tracker API image. Build: docker build -t incident-tracker .
# Run alone (embedded SQLite, generated dev key): docker run -p 8000:8000 incident-tracker
# With PostgreSQL and a real signing key: docker compose up --build (see docker-compose.yml).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a wheel of the project, installed with its dependencies into /opt/venv ---------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > requirements.txt \
 && /opt/venv/bin/pip install --requirement requirements.txt
COPY README.md ./
COPY domain/ domain/
COPY application/ application/
COPY projections/ projections/
COPY web/ web/
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install /wheels/*.whl \
 && /opt/venv/bin/incident-tracker --help > /dev/null

# --- runtime: the venv only, run as an unprivileged user ------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    HOST=0.0.0.0 \
    PORT=8000
RUN groupadd --system --gid 10001 incident \
 && useradd --system --uid 10001 --gid incident --no-create-home \
        --home-dir /var/lib/incident-tracker --shell /usr/sbin/nologin incident \
 && mkdir -p /var/lib/incident-tracker /keys \
 && chown incident:incident /var/lib/incident-tracker /keys
COPY --from=build /opt/venv /opt/venv
# The working directory holds the SQLite file and the dev key when no database or key is
# configured; /keys is where docker-compose.yml keeps the signing key (a named volume).
WORKDIR /var/lib/incident-tracker
USER incident:incident
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=2)"]
ENTRYPOINT ["incident-tracker"]
CMD ["serve", "--host", "0.0.0.0"]
