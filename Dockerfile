# syncer in a container: `docker build -t syncer .`, then
#   docker run --rm -e GITHUB_TOKEN -v "$PWD:/work" -v syncer-state:/state syncer plan -c /work/syncer.toml
# The state (keyed fingerprints and their 0600 HMAC key) lives in /state: keep it on a volume,
# or every run rewrites every secret and drift goes unseen.
#
# python:3.12-slim-bookworm, pinned by the digest of its multi-platform index (from
# docker-library/repo-info, repos/python/remote/3.12-slim-bookworm.md). To update: docker
# buildx imagetools inspect python:3.12-slim-bookworm, and copy the index digest here.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm@sha256:0f5b26b9518d002b6173fd61daad821fa340635ebfec5bba471013f9ca114579

# Build stage: pip, wheels and whatever a build needs stay here.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY syncer ./syncer
RUN python -m venv /opt/syncer \
 && /opt/syncer/bin/pip install --no-compile . \
 && /opt/syncer/bin/pip uninstall --yes pip \
 && find /opt/syncer -name '__pycache__' -prune -exec rm -rf {} +

# Final stage: the slim base and the venv; no pip, no compiler, no sources.
FROM ${PYTHON_IMAGE}
RUN python -m pip uninstall --yes --quiet pip \
 && useradd --system --uid 10001 --home-dir /state --shell /usr/sbin/nologin syncer \
 && mkdir -p /state && chown syncer /state && chmod 700 /state
COPY --from=build /opt/syncer /opt/syncer
ENV PATH=/opt/syncer/bin:$PATH \
    XDG_STATE_HOME=/state \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001
WORKDIR /state
VOLUME ["/state"]
ENTRYPOINT ["syncer"]
CMD ["--help"]
