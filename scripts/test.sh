#!/usr/bin/env bash
# scripts/test.sh - the one test command (README Quick start, .ci/run):
# installs the Debian packages the tests use as real peers, builds, runs all tests.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
./scripts/install-test-deps.sh
dotnet build Postfix.sln -c Release --nologo -v quiet -clp:ErrorsOnly
# The tests start the MTA through ./postfix, which builds .build/Release when stale.
./postfix check
exec dotnet test tests/Postfix.Tests -c Release --no-build --nologo "$@"
