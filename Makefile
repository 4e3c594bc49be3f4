# Hutong: the two commands of the quick start are `make run` and `make test`.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=
DEPS_STAMP := $(BUILD)/.deps-installed

.PHONY: all deps build run test bench clean format

all: build

$(DEPS_STAMP): scripts/install-deps.sh
	bash scripts/install-deps.sh
	@mkdir -p $(BUILD) && touch $@

deps: $(DEPS_STAMP)

$(BUILD)/CMakeCache.txt: $(DEPS_STAMP) CMakeLists.txt
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Serves the demo: both roles, SQLite under ./data, seeded once.
run: build
	./$(BUILD)/hutong seed-demo
	./$(BUILD)/hutong serve

# Builds and runs every test, SQLite and a throwaway PostgreSQL server.
test: build
	bash scripts/run-tests.sh $(BUILD)

bench: deps
	bash bench/run.sh

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'bench/*.cpp')

clean:
	rm -rf $(BUILD)
