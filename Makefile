# flowpic — build, test, bench, demo.  `make help` lists the targets.
#
# Layers (nothing below includes upward):  apps/ -> nn/ flowpic/ pcap/ synth/ -> kernels/ -> core/
# Every .cpp under core/ pcap/ synth/ flowpic/ nn/ kernels/cpu/ goes into build/libflowpic.a;
# every apps/flowpic_<name>.cpp becomes build/bin/flowpic-<name>, linked with the tools'
# shared code (the other apps/*.cpp, in build/libflowpic-apps.a); tests/*.cpp form one
# Boost.Test binary build/bin/flowpic-tests.  CUDA sources (kernels/cuda/*.cu) are built
# when nvcc is found; `make CUDA=0` turns them off.

CXX      ?= g++
NVCC     ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)

# SANITIZE=1: everything built with ASan + UBSan (any UB aborts), CPU only, in its own
# build directory so sanitized and normal objects never mix.  -O1 keeps the suite fast
# enough while the stacks stay readable.
ifeq ($(SANITIZE),1)
BUILD    ?= build-san
OPT      ?= -O1
override CUDA := 0
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

BUILD    ?= build
ARCH     ?= -march=x86-64-v3
OPT      ?= -O3
CXXFLAGS ?= $(OPT) $(ARCH) -g
# `override`: a CXXFLAGS or LDLIBS given on the command line (make CXXFLAGS=-O1) replaces
# the defaults above but still gets what the build cannot do without.
override CXXFLAGS += -std=c++17 -Wall -Wextra -pthread -fopenmp -MMD -MP -I. $(SAN_FLAGS)
override LDLIBS   += -lpcap -lstb -fopenmp -pthread

ifeq ($(NVCC),)
CUDA ?= 0
else
CUDA ?= 1
endif
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCH ?= -gencode arch=compute_90,code=sm_90
NVCCFLAGS ?= -O3 -std=c++17 $(CUDA_ARCH) -Xcompiler -fPIC -I.
ifeq ($(PROFILE),1)
NVCCFLAGS += -lineinfo
endif

LIB_SRC  := $(wildcard core/*.cpp pcap/*.cpp synth/*.cpp flowpic/*.cpp nn/*.cpp study/*.cpp kernels/cpu/*.cpp kernels/cuda/*.cpp)
CU_SRC   := $(wildcard kernels/cuda/*.cu)
APP_SRC  := $(wildcard apps/flowpic_*.cpp)
APP_LIB_SRC := $(filter-out $(APP_SRC),$(wildcard apps/*.cpp))
# The fuzz harness bodies are ordinary functions: the suite replays tests/fuzz/regress/.
TEST_SRC := $(wildcard tests/*.cpp tests/fuzz/fuzz_*.cpp)

LIB_OBJ  := $(LIB_SRC:%.cpp=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/obj/%.o)
APPS     := $(patsubst apps/flowpic_%.cpp,$(BUILD)/bin/flowpic-%,$(APP_SRC))
ifeq ($(CUDA),1)
CU_OBJ   := $(CU_SRC:%.cu=$(BUILD)/obj/%.o)
override CXXFLAGS += -DFLOWPIC_CUDA=1 -I$(CUDA_HOME)/include
override LDLIBS   += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart
else
CU_OBJ   :=
endif
LIB      := $(BUILD)/libflowpic.a
APP_LIB  := $(BUILD)/libflowpic-apps.a
APP_LIB_OBJ := $(APP_LIB_SRC:%.cpp=$(BUILD)/obj/%.o)
# `make test` and `make demo` build in parallel: JOBS=1 for a serial build.
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all test demo sweep-demo bench deps clean help
# Keep the apps' object files: as intermediates of a pattern rule make would delete them
# and rebuild them on every run.
.SECONDARY:
all: $(LIB) $(APPS) $(BUILD)/bin/flowpic-tests

help:
	@echo "make          build everything into build/ (binaries in build/bin/)"
	@echo "make test     build and run the test suite (last line: N passed, N failed)"
	@echo "make demo     synthesize captures and run the pipeline on them (out/demo/)"
	@echo "make sweep-demo  a speed-vs-accuracy grid on synthetic captures (out/sweep-demo/)"
	@echo "make bench    benchmarks next to dpkt/scapy/numpy baselines"
	@echo "make deps     install the Debian packages (as root) or print the apt-get line"
	@echo "make fuzz     build the libFuzzer harnesses (clang) and run each FUZZ_S=60 seconds"
	@echo "options: CUDA=0 (no CUDA objects), PROFILE=1 (-lineinfo), BUILD=dir,"
	@echo "         SANITIZE=1 (ASan+UBSan, CPU only, into build-san/: make test SANITIZE=1)"

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ) $(CU_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(APP_LIB): $(APP_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/flowpic-%: $(BUILD)/obj/apps/flowpic_%.o $(APP_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $< $(APP_LIB) $(LIB) $(LDLIBS) -o $@

$(BUILD)/bin/flowpic-tests: $(TEST_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(TEST_OBJ) $(LIB) $(LDLIBS) -lboost_unit_test_framework -o $@

# The suite runs from the repository root (fixtures are found relative to it) and needs
# the binaries for its command-line tests.
ifneq ($(SANITIZE),1)
test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	FLOWPIC_BIN=$(BUILD)/bin $(BUILD)/bin/flowpic-tests --color_output=no $(TEST_ARGS)
else
# Sanitizer reports go to files, not into the stderr that the CLI tests read, and get
# exit codes no tool uses (1 is a bad input, 2 a usage error).  Any report file, from
# the suite or from a tool it ran, fails the run.  The leak checker is on: LSan works in
# this kind of container (no ptrace needed).
SAN_LOG := $(abspath $(BUILD))/sanitizer-logs
SAN_ENV := ASAN_OPTIONS=log_path=$(SAN_LOG)/asan:exitcode=86:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
           UBSAN_OPTIONS=log_path=$(SAN_LOG)/ubsan:exitcode=87:print_stacktrace=1:halt_on_error=1 \
           LSAN_OPTIONS=exitcode=86
test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@rm -rf $(SAN_LOG) && mkdir -p $(SAN_LOG)
	@rc=0; FLOWPIC_BIN=$(BUILD)/bin $(SAN_ENV) $(BUILD)/bin/flowpic-tests --color_output=no $(TEST_ARGS) || rc=$$?; \
	if [ -n "$$(ls -A $(SAN_LOG))" ]; then cat $(SAN_LOG)/*; echo "sanitizer reports: $$(ls $(SAN_LOG) | wc -l) (in $(SAN_LOG))"; exit 1; fi; \
	exit $$rc
endif

# libFuzzer harnesses (tests/fuzz/, docs/FUZZING.md): clang with ASan + UBSan, the library
# sources rebuilt with coverage into $(BUILD)/fuzz/.  Not part of `all` or `test`: the suite
# replays tests/fuzz/regress/ through the same functions without a fuzzer.
FUZZ_CXX   ?= clang++
FUZZ_S     ?= 60
FUZZ_ARGS  ?=
FUZZ_DIR   := $(BUILD)/fuzz
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_FLAGS := -O1 -g $(ARCH) -std=c++17 -Wall -Wextra -Wno-unknown-pragmas -pthread -fopenmp -MMD -MP -I. $(FUZZ_SAN)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.cpp)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.cpp,%,$(FUZZ_SRC))
FUZZ_BINS  := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz-%)
FUZZ_LIB   := $(FUZZ_DIR)/libflowpic.a
FUZZ_OBJ   := $(LIB_SRC:%.cpp=$(FUZZ_DIR)/obj/%.o)

$(FUZZ_DIR)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz-%: tests/fuzz/fuzz_%.cpp $(FUZZ_LIB)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -DFLOWPIC_FUZZ_MAIN -fsanitize=fuzzer $< $(FUZZ_LIB) -lpcap -lstb -o $@

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

# Each harness runs FUZZ_S seconds on one core from its seed corpus (a scratch copy: the
# corpus in git stays small); crashes land in $(FUZZ_DIR)/crashes/<name>/.
fuzz: fuzz-build
	@set -e; for n in $(FUZZ_NAMES); do \
	  work=$(FUZZ_DIR)/corpus/$$n; mkdir -p $$work $(FUZZ_DIR)/crashes/$$n; \
	  echo "fuzz: $$n for $(FUZZ_S) s"; \
	  ASAN_OPTIONS=detect_leaks=1 $(FUZZ_DIR)/fuzz-$$n -max_total_time=$(FUZZ_S) \
	    -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/crashes/$$n/ $(FUZZ_ARGS) $$work tests/fuzz/corpus/$$n tests/fuzz/regress/$$n 2>&1 | \
	    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|.*ERROR)' || true; \
	  if [ -n "$$(ls -A $(FUZZ_DIR)/crashes/$$n)" ]; then echo "fuzz: $$n found $$(ls $(FUZZ_DIR)/crashes/$$n)"; exit 1; fi; \
	done; echo "fuzz: every harness ran $(FUZZ_S) s clean"

DEMO_OUT ?= out/demo
demo: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	bash apps/demo.sh $(BUILD)/bin $(DEMO_OUT)

# A small grid on the synthetic captures: the table and the plots (docs/SWEEP.md).
SWEEP_DEMO_OUT ?= out/sweep-demo
sweep-demo: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	bash apps/sweep_demo.sh $(BUILD)/bin $(SWEEP_DEMO_OUT)

bench: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	bash bench/run.sh $(BUILD)/bin

DEB_PACKAGES := make g++ libpcap-dev libboost-test-dev libstb-dev nlohmann-json3-dev libcli11-dev \
                python3-numpy python3-torch python3-dpkt python3-scapy \
                python3-matplotlib python3-sklearn python3-xgboost tcpreplay
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all packages present"; \
	elif [ "$$(id -u)" = 0 ]; then echo "deps: installing $$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
	  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
	else echo "deps: missing packages; run:"; echo "  sudo apt-get update && sudo apt-get install -y $$missing"; exit 1; fi

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/fuzz -name '*.d' 2>/dev/null)
