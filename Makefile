# hostmon build: BPF objects -> skeletons -> daemon, tests, checks and benchmarks.
#
#   make            build build/hostmon
#   make run        install missing packages, build, run the daemon on :9567
#   make test       install missing packages, build, run unit + bpf + integration tests
#   make asan       unit + integration tests with ASan/UBSan
#   make valgrind   unit tests, and the daemon in integration tests, under valgrind
#   make check      clang-format check and cppcheck
#   make bench      benchmarks (results: docs/PERFORMANCE.md)
#   make vmlinux    regenerate vmlinux/$(ARCH)/vmlinux.h from the running kernel

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
SANITIZE ?=
PKG_CONFIG ?= pkg-config

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
PKGS := libbpf libcurl libcjson zlib libelf libisal

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libcurl is opened at run time by user/curl_dl.c: its headers are needed, its library is not linked
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP \
	  -Iuser -Ibpf -I$(BUILD) $(PKG_CFLAGS) -DHOSTMON_VERSION='"$(VERSION)"'
LDLIBS += $(PKG_LIBS) -lm -lpthread -ldl
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# BPF: CO-RE against the checked-in vmlinux.h; the multiarch dir holds asm/ headers.
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Ivmlinux/$(ARCH) -Ibpf -Iuser -I/usr/include/$(shell uname -m)-linux-gnu

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS     := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)
USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(USER_SRCS:user/%.c=$(BUILD)/user/%.o)
LIB_OBJS  := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(BPFT_SRCS:tests/bpf/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(wildcard bench/*_bench.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps run test test-unit test-bpf test-integration asan valgrind check format \
	bench vmlinux clean
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/hostmon

deps:
	@./scripts/deps.sh

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

# Every skeleton, listed for the BPF test layer that loads them all.
$(BUILD)/skeletons.h: $(SKELS)
	( for s in $(notdir $(SKELS:.skel.h=)); do echo "#include \"$$s.skel.h\""; done; \
	  echo "#define HOSTMON_SKELETONS(X) \\"; \
	  for s in $(notdir $(SKELS:.skel.h=)); do echo "	X($${s}_bpf) \\"; done; echo ) > $@

$(BUILD)/user/%.o: user/%.c $(SKELS) | $(BUILD)/user
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/hostmon: $(USER_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

$(BUILD)/tests/%: tests/bpf/%.c $(LIB_OBJS) $(BUILD)/skeletons.h | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB_OBJS) | $(BUILD)/bench
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

$(BUILD)/bpf $(BUILD)/user $(BUILD)/tests $(BUILD)/bench:
	mkdir -p $@

run: deps
	$(MAKE) all
	$(BUILD)/hostmon

test: deps
	$(MAKE) all $(UNIT_BINS) $(BPFT_BINS)
	./tests/run.sh $(BUILD) all

test-unit: $(UNIT_BINS)
	./tests/run.sh $(BUILD) unit

test-bpf: all $(BPFT_BINS)
	./tests/run.sh $(BUILD) bpf

test-integration: all
	./tests/run.sh $(BUILD) integration

# Sanitizer build in its own folder so it never mixes with the normal objects.
asan: deps
	$(MAKE) BUILD=build-asan SANITIZE=1 build-asan/hostmon \
		$(UNIT_BINS:$(BUILD)/%=build-asan/%)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		./tests/run.sh build-asan unit integration

valgrind: deps
	$(MAKE) all $(UNIT_BINS)
	HOSTMON_VALGRIND=1 ./tests/run.sh $(BUILD) unit integration

check:
	clang-format --dry-run --Werror $(USER_SRCS) $(wildcard user/*.h bpf/*.c bpf/*.h tests/*/*.c tests/*/*.h bench/*.c)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --std=c11 -D_GNU_SOURCE -Iuser $(USER_SRCS)
	shellcheck scripts/*.sh tests/*.sh bench/*.sh .ci/run

format:
	clang-format -i $(USER_SRCS) $(wildcard user/*.h bpf/*.c bpf/*.h tests/*/*.c tests/*/*.h bench/*.c)

bench: deps
	$(MAKE) all $(BENCH_BINS)
	./bench/run.sh $(BUILD)
	./bench/cpu.sh $(BUILD)
	/usr/bin/python3 bench/http_collector.py $(BUILD)

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h
	@echo "regenerated vmlinux/$(ARCH)/vmlinux.h from kernel $$(uname -r)"

clean:
	rm -rf build build-asan

-include $(USER_OBJS:.o=.d)
