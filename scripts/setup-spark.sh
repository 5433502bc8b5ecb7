#!/usr/bin/env bash
# Installs what `egress_policy.spark` needs to run in Spark's local mode: a Java runtime
# (Debian's OpenJDK, through apt) and PySpark + PyArrow (PyPI, into .venv). Idempotent:
# re-running only installs what is missing. Skippable: SETUP_SPARK=0 does nothing.
#
#   scripts/setup-spark.sh            # Java (if missing) + pyspark/pyarrow into .venv
#   SETUP_SPARK=0 scripts/setup-spark.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ "${SETUP_SPARK:-1}" = "0" ]; then
  echo "setup-spark: skipped (SETUP_SPARK=0)"
  exit 0
fi

log() { printf '==> %s\n' "$*"; }

# Spark 4 needs Java 17 or 21. Debian 12 ships openjdk-17; a newer Debian ships 21.
java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local version
  version="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
  [ -n "$version" ] && [ "$version" -ge 17 ]
}

if ! java_ok; then
  log "apt-get install a headless OpenJDK (17 or 21)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if apt-cache show openjdk-17-jre-headless >/dev/null 2>&1; then
    apt-get install -y -qq openjdk-17-jre-headless
  else
    apt-get install -y -qq openjdk-21-jre-headless
  fi
fi
java -version 2>&1 | head -n1

if [ ! -x .venv/bin/python ]; then
  scripts/setup-python.sh
fi
# Versions that installed and ran the tests on the project machine (CPython 3.11, 2026-12).
# pandas < 3: PySpark 4.3 warns (FutureWarning) on pandas 3, and the tests run with -W error.
log "pip install pyspark pyarrow pandas (only what is missing)"
.venv/bin/python -m pip install --disable-pip-version-check --quiet \
  "pyspark>=4.0,<5" "pyarrow>=15" "pandas>=2,<3"
.venv/bin/python -m pip --disable-pip-version-check list 2>/dev/null \
  | grep -i -E '^(pyspark|pyarrow|pandas) ' || true
