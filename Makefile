# The two commands a newcomer types: `make demo` and `make test`.
# Both install what is missing (scripts/deps.sh) and build first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test sanitize clean

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

clean:
	rm -rf $(BUILD) runs
