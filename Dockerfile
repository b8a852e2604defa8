# hostmon's image: a build stage with the compilers and -dev packages, and a runtime stage with
# only the shared libraries the daemon needs. `make image` builds it as hostmon:latest.
#
#   docker build -t hostmon:latest --build-arg VERSION=$(git describe --always) .
#
# Runs as root with a capability list, host PID and the host's /sys (see deploy/README.md).

FROM debian:bookworm-slim AS build
# make image tags this stage (hostmon-build:cache) to keep its layers as the next build's cache,
# and prunes images of older builds by this label
LABEL hostmon.image=build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      make gcc libc6-dev clang llvm pkg-config bpftool linux-libc-dev \
      libbpf-dev libelf-dev zlib1g-dev libisal-dev libcurl4-openssl-dev libcjson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# the sources the daemon is built from; tests, docs and benchmarks stay out (.dockerignore)
COPY Makefile ./
COPY vmlinux vmlinux
COPY bpf bpf
COPY user user
ARG VERSION=0.1.0-dev
RUN make -j"$(nproc)" BUILD=/out VERSION="$VERSION" /out/hostmon \
 && strip --strip-unneeded /out/hostmon \
 && /out/hostmon --version

FROM debian:bookworm-slim
# libcurl is opened at run time by the rabbitmq collector only; the others are linked
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libbpf1 libelf1 zlib1g libisal2 libcjson1 libcurl4 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* /usr/share/doc/* /usr/share/man/* \
      /usr/share/locale/* /usr/share/info/*
COPY --from=build /out/hostmon /usr/bin/hostmon
ARG VERSION=0.1.0-dev
LABEL hostmon.image=runtime \
      org.opencontainers.image.title="hostmon" \
      org.opencontainers.image.description="eBPF host monitor: CPU per cgroup, HTTP latency, RabbitMQ queues, as Prometheus metrics" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.documentation="deploy/README.md"
EXPOSE 9567
ENTRYPOINT ["/usr/bin/hostmon"]
CMD ["--listen", ":9567", "--log-format", "json"]
