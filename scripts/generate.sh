#!/usr/bin/env bash
# Regenerates gen/ from proto/ and third_party/: TypeScript with protoc-gen-es,
# plus one descriptor image (with comments) that gRPC reflection serves, so
# `grpcurl describe` shows the documentation. OUT overrides the target root
# (scripts/check-gen.mjs generates into a scratch dir and diffs).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-.}"
npx buf generate --output "$OUT"
npx buf build --output "$OUT/gen/latchkey.binpb"
