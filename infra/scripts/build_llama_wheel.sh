#!/usr/bin/env bash
# Builds llama-cpp-python once per machine into a wheel cache keyed by version and CPU flags.
# Why: pip's own cache ignores CMAKE_ARGS, and llama.cpp's default -march=native build uses AMX
# tile instructions that sandboxed VMs report but do not allow (SIGILL at the first matmul).
# AVX2/FMA/F16C is the portable x86-64-v3 level; other architectures keep llama.cpp's defaults.
set -euo pipefail
version="$1"
venv_pip="$2"
if [[ "$(uname -m)" == "x86_64" ]]; then
  cmake_args="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
else
  cmake_args="-DGGML_NATIVE=OFF"
fi
key=$(printf '%s %s %s' "$version" "$cmake_args" "$(uname -m)" | sha256sum | cut -c1-12)
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
