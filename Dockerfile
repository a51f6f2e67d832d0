# Seedchain in a container: `seedchain` is the entrypoint, so the command is a subcommand
# (`node`, `pool`, `miner`, `wallet`, ...). Used by docker-compose.yml; see docs/cluster.md.
#
# Two stages: the first compiles the native proof-of-work extension (gcc, Python headers) and
# installs Seedchain with its dependencies into a venv; the second carries only that venv and
# the Python it was made with, and runs as an unprivileged user whose home is /data (mount a
# volume there: docker-compose.yml does).

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY consensus consensus
COPY mining mining
COPY node node
COPY p2p p2p
COPY pool pool
COPY wallet wallet
COPY seedchain seedchain
RUN python3 -m venv /opt/seedchain \
 && /opt/seedchain/bin/pip install --no-cache-dir --disable-pip-version-check . \
 && cd / && /opt/seedchain/bin/python -c "from consensus.nonce_search import default_backend as b; assert b() == 'native', b()"

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 8733 --user-group --create-home --home-dir /data seedchain
COPY --from=build /opt/seedchain /opt/seedchain
ENV PATH=/opt/seedchain/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SEEDCHAIN_LOG_FORMAT=json
USER seedchain
WORKDIR /data
ENTRYPOINT ["seedchain"]
CMD ["--help"]
