#!/usr/bin/env bash
# Installs the reference engines floe's tests read its tables with, pinned in
# scripts/versions.env and cached under the build folder:
#   build/engines/venv   Python virtualenv: pyspark, pyiceberg (+ SQL catalog
#                        and pyarrow), pytest, moto's S3 server and the rest
#                        of the Python pins
#   build/engines/jars   Maven artifacts (Iceberg's Spark runtime, the SQLite
#                        and PostgreSQL JDBC drivers), resolved by Maven
#   build/engines/java   the Java program of tests/engines/java
#                        (floe-engine-check.jar and its lib/), built by Maven
#   build/engines/rest-catalog   the REST catalog server of the tests
#                        (tests/engines/rest-catalog): floe-rest-catalog.jar
#                        and its lib/
# A re-run with unchanged pins does nothing; a changed pin rebuilds. Maven's
# own cache (~/.m2) and pip's cache make a rebuild quick.
#   scripts/engines.sh [BUILD_DIR]        (default: build)
#   scripts/engines.sh --print-env [BUILD_DIR]
#                        print the environment the tests use (FLOE_VENV,
#                        FLOE_JARS, PYSPARK_PYTHON, SPARK_HOME-free)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

print_env=0
if [ "${1:-}" = "--print-env" ]; then print_env=1; shift; fi
build=${1:-build}
mkdir -p "$build"
build=$(cd "$build" && pwd)
dest="$build/engines"
venv="$dest/venv"
jars="$dest/jars"
pins="$repo/scripts/versions.env"

if [ "$print_env" = 1 ]; then
  echo "FLOE_VENV=$venv"
  echo "FLOE_JARS=$jars"
  echo "FLOE_REST_CATALOG=$dest/rest-catalog"
  exit 0
fi

# shellcheck disable=SC1090
. "$pins"

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "engines: $1 not found; install it ($2)" >&2
    exit 1
  }
}
need python3 "Debian: apt-get install python3 python3-venv"
need java "Debian: apt-get install openjdk-17-jre-headless"
need mvn "Debian: apt-get install maven"

stamp_of() { { cat "$pins"; cat "$@" 2>/dev/null; } | sha256sum | cut -c1-16; }

# ---- Python -------------------------------------------------------------
py_stamp=$(stamp_of "$repo/scripts/engines.sh")
if [ ! -f "$venv/.floe-stamp" ] || [ "$(cat "$venv/.floe-stamp")" != "$py_stamp" ]; then
  echo "engines: building $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || {
    echo "engines: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2
    exit 1
  }
  req="$dest/requirements.txt"
  {
    echo "pyspark==$PY_PYSPARK"
    echo "pyiceberg[sql-sqlite,sql-postgres,pyarrow]==$PY_PYICEBERG"
    echo "pyarrow==$PY_PYARROW"
    echo "pandas==$PY_PANDAS"
    echo "numpy==$PY_NUMPY"
    echo "sqlalchemy==$PY_SQLALCHEMY"
    echo "psycopg2-binary==$PY_PSYCOPG2_BINARY"
    echo "pytest==$PY_PYTEST"
    echo "moto[server]==$PY_MOTO"
    # Any further PY_<NAME>=<version> pin installs as <name>==<version>
    # (underscores become dashes); the ones above keep their extras.
    for var in $(compgen -v PY_); do
      case "$var" in
        PY_PYSPARK|PY_PYICEBERG|PY_PYARROW|PY_PANDAS|PY_NUMPY|PY_SQLALCHEMY|PY_PSYCOPG2_BINARY|PY_PYTEST|PY_MOTO) ;;
        *) name=${var#PY_}; name=${name,,}; echo "${name//_/-}==${!var}" ;;
      esac
    done
  } >"$req"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$py_stamp" >"$venv/.floe-stamp"
fi

# ---- Maven --------------------------------------------------------------
mvn_stamp=$(stamp_of "$repo/tests/engines/maven/pom.xml")
if [ ! -f "$jars/.floe-stamp" ] || [ "$(cat "$jars/.floe-stamp")" != "$mvn_stamp" ]; then
  echo "engines: resolving Maven artifacts into $jars"
  rm -rf "$jars"
  mkdir -p "$jars"
  mvn -B -q -f "$repo/tests/engines/maven/pom.xml" \
    -Diceberg.version="$MVN_ICEBERG" \
    -Dsqlite-jdbc.version="$MVN_SQLITE_JDBC" \
    -Dpostgresql-jdbc.version="$MVN_POSTGRESQL_JDBC" \
    dependency:copy-dependencies -DoutputDirectory="$jars" -DincludeScope=runtime
  echo "$mvn_stamp" >"$jars/.floe-stamp"
fi

# ---- Java program: Iceberg Java's strict reader (tests/engines/java) ------
java_dir="$dest/java"
java_src="$repo/tests/engines/java"
java_stamp=$(stamp_of "$java_src/pom.xml" $(find "$java_src/src" -type f | sort))
if [ ! -f "$java_dir/.floe-stamp" ] || [ "$(cat "$java_dir/.floe-stamp")" != "$java_stamp" ]; then
  echo "engines: building $java_dir"
  rm -rf "$java_dir"
  mkdir -p "$java_dir"
  mvn -B -q -f "$java_src/pom.xml" \
    -Diceberg.version="$MVN_ICEBERG" \
    -Dhadoop.version="$MVN_HADOOP" \
    -Dparquet.version="$MVN_PARQUET" \
    -Dslf4j.version="$MVN_SLF4J" \
    -Dfloe.build.dir="$java_dir/target" \
    package dependency:copy-dependencies -DoutputDirectory="$java_dir/lib" -DincludeScope=runtime
  cp "$java_dir/target/floe-engine-check.jar" "$java_dir/floe-engine-check.jar"
  echo "$java_stamp" >"$java_dir/.floe-stamp"
fi

# ---- REST catalog server ------------------------------------------------
rest="$dest/rest-catalog"
rest_src="$repo/tests/engines/rest-catalog"
rest_stamp=$(stamp_of "$rest_src/pom.xml" $(find "$rest_src/src" -name '*.java' | sort))
if [ ! -f "$rest/.floe-stamp" ] || [ "$(cat "$rest/.floe-stamp")" != "$rest_stamp" ]; then
  echo "engines: building the REST catalog server into $rest"
  rm -rf "$rest"
  mkdir -p "$rest/lib"
  work="$dest/rest-catalog-build"
  rm -rf "$work"
  mkdir -p "$work"
  cp -r "$rest_src/pom.xml" "$rest_src/src" "$work/"
  mvn -B -q -f "$work/pom.xml" \
    -Diceberg.version="$MVN_ICEBERG_REST_SERVER" \
    -Dsqlite-jdbc.version="$MVN_SQLITE_JDBC" \
    -Djetty.version="$MVN_JETTY" \
    -Dslf4j.version="$MVN_SLF4J" \
    package dependency:copy-dependencies -DoutputDirectory="$rest/lib" -DincludeScope=runtime
  cp "$work/target/floe-rest-catalog-1.jar" "$rest/floe-rest-catalog.jar"
  rm -rf "$work"
  echo "$rest_stamp" >"$rest/.floe-stamp"
fi
