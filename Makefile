# Thin front door over CMake. `make` builds, `make check` runs every test twice
# (a normal build in build/ and an ASan+UBSan build in build-asan/) and the
# threaded packetdrill library's test a third time under TSan (build-tsan/),
# `make demo` runs the main demonstration, `make bench` runs every benchmark
# (scripts/bench.sh) and writes docs/benchmarks.md with its plots in docs/bench/.

JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake

.PHONY: all build check check-normal check-asan check-tsan demo bench clean deps

all: build

deps:
	@scripts/deps.sh build

build: deps
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build build -j $(JOBS) -- --no-print-directory

check: check-normal check-asan check-tsan

check-normal:
	@scripts/deps.sh check
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_TESTS=ON >/dev/null
	@$(CMAKE) --build build -j $(JOBS) -- --no-print-directory
	@cd build && ctest --output-on-failure -j $(JOBS)

check-asan:
	@scripts/deps.sh check
	@$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON -DTERN_TESTS=ON >/dev/null
	@$(CMAKE) --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

check-tsan:
	@scripts/deps.sh check
	@$(CMAKE) -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DTERN_TSAN=ON -DTERN_TESTS=ON >/dev/null
	@$(CMAKE) --build build-tsan -j $(JOBS) --target test_pdso
	@cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -R pdso

demo: build
	@scripts/demo-real.sh build/tern

bench: build
	@scripts/deps.sh check
	@scripts/bench.sh --build build

clean:
	rm -rf build build-asan build-tsan
