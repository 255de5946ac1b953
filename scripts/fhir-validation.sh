#!/usr/bin/env bash
# Validates the FHIR documents the black-box tests received (FHIR_CAPTURE_DIR) against the
# official FHIR R4 JSON schema and Medplum's profile validator: tools/fhir-validation.
#
#   usage: scripts/fhir-validation.sh DIRECTORY
# Versions are pinned in tools/fhir-validation/package-lock.json (the last that run on
# Node.js 20).
set -euo pipefail
cd "$(dirname "$0")/.."
documents=${1:?the directory of captured FHIR documents}
npm ci --silent --no-audit --no-fund --prefix tools/fhir-validation
node tools/fhir-validation/validate.mjs "$documents"
