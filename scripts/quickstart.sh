#!/usr/bin/env bash
# Fresh machine to a trained model in one command: dependencies, Release build, `lmlab quickstart`.
# Extra arguments go to `lmlab quickstart` (e.g. --minutes 2).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build Release
cmake --build build --target lmlab
exec build/tools/lmlab quickstart "$@"
