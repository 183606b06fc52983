# The two commands a newcomer types: `make demo` and `make test`.
# Both install what is missing (scripts/deps.sh) and build first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test sanitize fuzz valgrind clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCZ_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# Train LeNet-5 on Fashion-MNIST, then evaluate the saved weights.
demo: build
	./$(BUILD)/cnnzoo train lenet5 --data fashion-mnist --epochs 10 --schedule step:4:0.3 --out runs --log runs/lenet5.csv
	./$(BUILD)/cnnzoo eval lenet5 --weights runs/lenet5.safetensors --data fashion-mnist

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

# The whole suite built with AddressSanitizer and UndefinedBehaviorSanitizer
# (SANITIZE_ARGS: more ctest arguments, e.g. -E conformance/zoo as CI does).
# Open MPI keeps its plugins loaded so its one-time allocations can be told
# apart from ours (tests/lsan.supp).
SANITIZE_ARGS ?=
sanitize: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCZ_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	OMPI_MCA_mca_base_component_disable_dlclose=1 \
	ctest --test-dir build-asan --output-on-failure -j$(JOBS) $(SANITIZE_ARGS)

# Every fuzz target for FUZZ_TIME seconds (FUZZ_TARGETS: some of them);
# crashes land in fuzz/regress/ (scripts/fuzz.sh).
FUZZ_TIME ?= 600
FUZZ_TARGETS ?=
fuzz:
	@scripts/deps.sh fuzz
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCZ_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j$(JOBS)
	scripts/fuzz.sh build-fuzz $(FUZZ_TIME) $(JOBS) $(FUZZ_TARGETS)

# The CLI tests with cnnzoo under valgrind: no errors, no leaks.
valgrind: build
	@scripts/deps.sh valgrind
	scripts/valgrind_cli.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz runs
