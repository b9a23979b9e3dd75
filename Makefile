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
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target tx_decode_fuzz wasm_load_fuzz wasm_attachment_fuzz cscoin_wasm iou_wasm
	mkdir -p $(FUZZ_BUILD)/corpus/tx_decode $(FUZZ_BUILD)/corpus/wasm_load $(FUZZ_BUILD)/corpus/wasm_attachment
	cp $(FUZZ_BUILD)/examples/contracts/*.wasm $(FUZZ_BUILD)/corpus/wasm_load/
	./$(FUZZ_BUILD)/fuzz/tx_decode_fuzz -max_total_time=$(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus/tx_decode fuzz/corpus/tx_decode
	./$(FUZZ_BUILD)/fuzz/wasm_load_fuzz -max_total_time=$(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus/wasm_load
	./$(FUZZ_BUILD)/fuzz/wasm_attachment_fuzz -max_total_time=$(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus/wasm_attachment

# Long runs outside make test: many simulator seeds, larger committees.
SOAK_SEEDS ?= 1..20000
soak: build
	./$(BUILD)/folio sim consensus --seeds $(SOAK_SEEDS)
	./$(BUILD)/folio sim consensus --seeds 1..2000 --replicas 7 --byzantine 2
	./$(BUILD)/folio sim consensus --seeds 1..500 --replicas 10 --byzantine 3
	./$(BUILD)/folio sim sbac --seeds 1..3000
	./$(BUILD)/folio sim sbac --seeds 1..200 --shards 4 --replicas 7 --byzantine 2 --transactions 40 --accounts 20
	./$(BUILD)/folio sim sbac --seeds 1..500 --shards 3 --transactions 40 --high-contention --replay

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
