# syntax=docker/dockerfile:1
# nasboard image: API, Celery worker and CLI (one image, the command picks the role).
#
#   docker build -t nasboard:cpu .                               # TensorFlow CPU (.[tf])
#   docker build -t nasboard:gpu --build-arg EXTRAS=gpu .        # TensorFlow + CUDA (.[gpu])
#
# Bookworm, like the development machines (Debian 12 ships dataset-fashion-mnist).
FROM python:3.11-slim-bookworm

ARG EXTRAS=tf

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NASBOARD_DATA_DIR=/data

RUN apt-get update \
 && apt-get install -y --no-install-recommends dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first (read from pyproject.toml, at the versions of constraints.txt) so a
# source change does not reinstall TensorFlow.
COPY pyproject.toml constraints.txt ./
RUN python -c 'import sys, tomllib; \
p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
reqs = list(p["dependencies"]); \
[reqs.extend(p["optional-dependencies"][e]) for e in sys.argv[1].split(",") if e]; \
print("\n".join(reqs))' "$EXTRAS" > /tmp/requirements.txt \
 && pip install -c constraints.txt -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY . .
RUN pip install --no-deps ".[$EXTRAS]" \
 && useradd --create-home --uid 1000 nasboard \
 && mkdir -p /data \
 && chown nasboard:nasboard /data

USER nasboard
VOLUME ["/data"]
EXPOSE 8000
CMD ["nasboard", "serve", "--host", "0.0.0.0", "--port", "8000"]
