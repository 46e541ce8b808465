#!/usr/bin/env bash
# Builds llama-cpp-python once per machine into a wheel cache keyed by version and CPU flags.
# Why: pip's own cache ignores CMAKE_ARGS and CPU flags. The build is native (the fastest kernels
# for this CPU; the key includes the CPU's flags), minus AMX: sandboxed VMs report AMX tiles but
# trap them (SIGILL at the first matmul). A portable AVX2-only build (GGML_NATIVE=OFF) produced
# wrong tokens from SmolLM2 Q4_1 here, so it is not used. LLAVA_BUILD=OFF skips the unused
# multimodal library and a third of the compile time.
set -euo pipefail
version="$1"
venv_pip="$2"
cmake_args="-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF"
cpu_flags=""
if grep -q amx_tile /proc/cpuinfo 2>/dev/null; then
  export CFLAGS="${CFLAGS:-} -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  export CXXFLAGS="${CXXFLAGS:-} -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m)
key=$(printf '%s %s %s' "$version" "$cmake_args" "$cpu_flags" | sha256sum | cut -c1-12)
wheel_dir="${FMT_WHEEL_CACHE:-$HOME/.cache/fm-tailor/wheels}/llama-cpp-python-$key"
if ! ls "$wheel_dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $version (a few minutes, once per machine)"
  mkdir -p "$wheel_dir.tmp"
  CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$venv_pip" wheel --quiet --no-deps --no-cache-dir --no-binary llama-cpp-python \
    -w "$wheel_dir.tmp" "llama-cpp-python==$version"
  rm -rf "$wheel_dir" && mv "$wheel_dir.tmp" "$wheel_dir"
fi
"$venv_pip" install --quiet --no-deps --force-reinstall "$wheel_dir"/llama_cpp_python-*.whl
