# flowpic — build, test, bench, demo.  `make help` lists the targets.
#
# Layers (nothing below includes upward):  apps/ -> nn/ flowpic/ pcap/ -> kernels/ -> core/
# Every .cpp under core/ pcap/ flowpic/ nn/ kernels/cpu/ goes into build/libflowpic.a;
# every apps/flowpic_<name>.cpp becomes build/bin/flowpic-<name>; tests/*.cpp form one
# Boost.Test binary build/bin/flowpic-tests.  CUDA sources (kernels/cuda/*.cu) are built
# when nvcc is found; `make CUDA=0` turns them off.

CXX      ?= g++
NVCC     ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
BUILD    ?= build
ARCH     ?= -march=x86-64-v3
OPT      ?= -O3
CXXFLAGS ?= $(OPT) $(ARCH) -g
CXXFLAGS += -std=c++17 -Wall -Wextra -pthread -fopenmp -MMD -MP -I.
LDLIBS   += -lpcap -lstb -fopenmp -pthread

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

LIB_SRC  := $(wildcard core/*.cpp pcap/*.cpp flowpic/*.cpp nn/*.cpp kernels/cpu/*.cpp)
CU_SRC   := $(wildcard kernels/cuda/*.cu)
APP_SRC  := $(wildcard apps/flowpic_*.cpp)
TEST_SRC := $(wildcard tests/*.cpp)

LIB_OBJ  := $(LIB_SRC:%.cpp=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/obj/%.o)
APPS     := $(patsubst apps/flowpic_%.cpp,$(BUILD)/bin/flowpic-%,$(APP_SRC))
ifeq ($(CUDA),1)
CU_OBJ   := $(CU_SRC:%.cu=$(BUILD)/obj/%.o)
CXXFLAGS += -DFLOWPIC_CUDA=1 -I$(CUDA_HOME)/include
LDLIBS   += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart
else
CU_OBJ   :=
endif
LIB      := $(BUILD)/libflowpic.a

.PHONY: all test demo bench deps clean help
# Keep the apps' object files: as intermediates of a pattern rule make would delete them
# and rebuild them on every run.
.SECONDARY:
all: $(LIB) $(APPS) $(BUILD)/bin/flowpic-tests

help:
	@echo "make          build everything into build/ (binaries in build/bin/)"
	@echo "make test     build and run the test suite (last line: N passed, N failed)"
	@echo "make demo     synthesize captures and run the pipeline on them (out/demo/)"
	@echo "make bench    benchmarks next to dpkt/scapy/numpy baselines"
	@echo "make deps     install the Debian packages (as root) or print the apt-get line"
	@echo "options: CUDA=0 (no CUDA objects), PROFILE=1 (-lineinfo), BUILD=dir"

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ) $(CU_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/flowpic-%: $(BUILD)/obj/apps/flowpic_%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/bin/flowpic-tests: $(TEST_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(TEST_OBJ) $(LIB) $(LDLIBS) -lboost_unit_test_framework -o $@

# The suite runs from the repository root (fixtures are found relative to it) and needs
# the binaries for its command-line tests.
test: deps
	@$(MAKE) --no-print-directory all
	FLOWPIC_BIN=$(BUILD)/bin $(BUILD)/bin/flowpic-tests --color_output=no $(TEST_ARGS)

DEMO_OUT ?= out/demo
demo: deps
	@$(MAKE) --no-print-directory all
	bash apps/demo.sh $(BUILD)/bin $(DEMO_OUT)

bench: deps
	@$(MAKE) --no-print-directory all
	bash bench/run.sh $(BUILD)/bin

DEB_PACKAGES := make g++ libpcap-dev libboost-test-dev libstb-dev nlohmann-json3-dev libcli11-dev \
                python3-numpy python3-torch python3-dpkt python3-scapy
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all packages present"; \
	elif [ "$$(id -u)" = 0 ]; then echo "deps: installing $$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
	  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
	else echo "deps: missing packages; run:"; echo "  sudo apt-get update && sudo apt-get install -y $$missing"; exit 1; fi

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
