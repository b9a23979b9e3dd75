# Folio: the two commands users need are `make demo` and `make test`; both install what is missing.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all setup configure build test test-asan demo bench fuzz soak clean

all: build

setup:
	bash scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

configure: setup $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The release suite, then the pure modules' tests again under AddressSanitizer + UBSan.
test: build test-asan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

test-asan: setup
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOLIO_PURE_ONLY=ON -DFOLIO_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

demo: build
	./$(BUILD)/folio demo

bench: build
	bash bench/run_all.sh

fuzz: setup
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOLIO_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target tx_decode_fuzz
	mkdir -p $(FUZZ_BUILD)/corpus/tx_decode
	./$(FUZZ_BUILD)/fuzz/tx_decode_fuzz -max_total_time=$(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus/tx_decode fuzz/corpus/tx_decode

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
