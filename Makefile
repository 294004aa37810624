# floe: top-level driver for the CMake build.
#   make          build (build/)
#   make test     install what is missing (apt, npm, the engines) first, then
#                 build and run every test (plain and under ASan+UBSan), the
#                 interop, end-to-end and engine suites
#   make bench    benchmarks (bench/): scale curves at 1M and 10M rows
#                 (BENCH_LARGE=1 adds 100M)
#   make bench-smoke  every benchmark once at a tiny size (part of make test)
#   make demo     the main job on the embedded default
#   make fuzz     build the libFuzzer targets and run each for FUZZ_SECONDS
#   make campaign the exactly-once crash campaign: CAMPAIGN_TRIALS (500) random
#                 trials, CAMPAIGN_SEED to replay one; prints a table of trials;
#                 then CAMPAIGN_S3REST_TRIALS (120) on S3 behind a REST catalog
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all build deps engines test-deps engine-test wheel python-test test bench-smoke unit-test asan-test interop-test e2e-test emulator-test fuzz-replay fuzz bench demo clean campaign-sample campaign

all: build

deps:
	@scripts/deps.sh

# The reference engines (Spark + Iceberg runtime, PyIceberg, JDBC drivers),
# pinned in scripts/versions.env, cached in $(BUILD)/engines.
engines:
	@scripts/engines.sh $(BUILD)

# Everything the tests need, installed before any test runs (so no test
# finds its oracle missing and skips): the npm packages and the engines.
test-deps: deps
	@scripts/deps.sh --npm
	@scripts/engines.sh $(BUILD)

# Spark, PyIceberg and Iceberg Java read every table floe writes, and floe
# reads and continues theirs (tests/engines, pytest in build/engines/venv).
engine-test: build engines
	@cd tests/engines && PYTHONDONTWRITEBYTECODE=1 FLOE_BIN=$(abspath $(BUILD))/floe \
	  FLOE_ENGINE_JARS=$(abspath $(BUILD))/engines/jars \
	  FLOE_JAVA_CHECK=$(abspath $(BUILD))/engines/java/floe-engine-check.jar \
	  $(abspath $(BUILD))/engines/venv/bin/python -m pytest -p no:cacheprovider -q

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The Python package (python/): a CPython extension over libfloe built
# against the limited API, one abi3 wheel for CPython 3.9+, in $(BUILD)/wheel.
# It links the libfloe.a of $(BUILD); the build backend comes from the
# engines venv (pins in scripts/versions.env).
VENV = $(abspath $(BUILD))/engines/venv
wheel: build engines
	@rm -rf $(BUILD)/wheel python/build
	@FLOE_BUILD_DIR=$(abspath $(BUILD)) JOBS=$(JOBS) $(VENV)/bin/pip wheel --quiet \
	  --disable-pip-version-check --no-deps --no-build-isolation -w $(BUILD)/wheel ./python
	@ls $(BUILD)/wheel/*.whl

# pytest over the installed wheel (tests/python), the notebook included.
python-test: wheel
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps \
	  --force-reinstall $(BUILD)/wheel/floe-*.whl
	@cd tests/python && $(VENV)/bin/python -m pytest -q -p no:cacheprovider

# Tests skipped inside the binaries (e.g. no ../shared/fixtures) are listed
# after the CTest summary, so a skip is never silent.
SHOW_SKIPS = grep -h '^  SKIP' $(1)/Testing/Temporary/LastTest.log 2>/dev/null | sort -u | sed 's/^  SKIP/skipped:/' || true

unit-test: build
	@scripts/deps.sh --npm
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(call SHOW_SKIPS,$(BUILD))

asan-test: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFLOE_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(call SHOW_SKIPS,$(ASAN_BUILD))

interop-test: build
	@scripts/deps.sh --npm
	@FLOE_BUILD=$(abspath $(BUILD)) node --test tests/interop/

# End to end through the floe command: SQLite and PostgreSQL sources (and the
# Snowflake emulator), every target checked by icebird and DuckDB.
e2e-test: build
	@scripts/deps.sh --npm
	@FLOE_BIN=$(abspath $(BUILD))/floe node --test tests/e2e/

# The Snowflake SQL API emulator's own tests (it is a test fixture too).
emulator-test: deps
	@scripts/deps.sh --npm
	@node --test tests/snowflake-emulator/test/*.test.mjs

fuzz-replay: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DFLOE_FUZZ=ON -DFLOE_SANITIZE=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@tests/fuzz/run.sh replay $(FUZZ_BUILD)

fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DFLOE_FUZZ=ON -DFLOE_SANITIZE=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@tests/fuzz/run.sh fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The exactly-once crash campaign (tests/campaign/): floe run killed at every
# crash point, SQLite and PostgreSQL sources, every outcome checked by icebird,
# DuckDB, the control table and the snapshot summaries. CI runs the lock
# tests and a fixed sample (40 trials, one seed, a minute or two), and a
# fixed sample of the S3 + REST catalog variant (--target s3rest: moto and
# the REST test server, lost commit answers, S3 faults; 4 trials).
CAMPAIGN_TRIALS ?= 500
CAMPAIGN_S3REST_TRIALS ?= 120
CAMPAIGN_SEED ?=
campaign-sample: build
	@scripts/deps.sh --npm
	@scripts/engines.sh $(BUILD)
	@FLOE_BIN=$(abspath $(BUILD))/floe node --test tests/campaign/lock.test.mjs
	@node tests/campaign/campaign.mjs --sample --jobs $(JOBS) --floe $(abspath $(BUILD))/floe
	@FLOE_BUILD_DIR=$(abspath $(BUILD)) FLOE_ENGINES_VENV=$(abspath $(BUILD))/engines/venv node tests/campaign/campaign.mjs --sample --target s3rest --jobs $(JOBS) --floe $(abspath $(BUILD))/floe

campaign: build
	@scripts/deps.sh --npm
	@scripts/engines.sh $(BUILD)
	@node tests/campaign/campaign.mjs --trials $(CAMPAIGN_TRIALS) --jobs $(JOBS) --floe $(abspath $(BUILD))/floe $(if $(CAMPAIGN_SEED),--seed $(CAMPAIGN_SEED))
	@FLOE_BUILD_DIR=$(abspath $(BUILD)) FLOE_ENGINES_VENV=$(abspath $(BUILD))/engines/venv node tests/campaign/campaign.mjs --target s3rest --trials $(CAMPAIGN_S3REST_TRIALS) --jobs $(JOBS) --floe $(abspath $(BUILD))/floe $(if $(CAMPAIGN_SEED),--seed $(CAMPAIGN_SEED))

test: test-deps unit-test asan-test interop-test e2e-test engine-test emulator-test python-test fuzz-replay campaign-sample bench-smoke

# The main job on the embedded default: a generated SQLite source replicated
# into ./demo/warehouse with the SQL catalog ./demo/catalog.db.
demo: build
	@$(BUILD)/floe demo --dir demo

bench: build
	@scripts/deps.sh --npm
	@bench/run.sh $(abspath $(BUILD))

# Each benchmark runs and prints lines that parse (not a speed test).
bench-smoke: build
	@scripts/deps.sh --npm
	@bench/smoke.sh $(abspath $(BUILD))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
