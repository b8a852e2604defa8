# hostmon build: BPF objects -> skeletons -> daemon, tests, checks and benchmarks.
#
#   make            build build/hostmon
#   make run        install what running needs, build, run the daemon on :9567
#   make test       install what testing needs, build, run unit + bpf + fuzz seeds + integration tests
#   make test-fuzz-seeds  each fuzz harness as a plain program, once on every seed (part of make test)
#   make test-kernels  the BPF, CPU and HTTP tests inside Debian's 6.1 and 6.12 kernels (qemu)
#   make test-all   make test, then make soak, make test-kernels and make fuzz
#   make fuzz       libFuzzer harnesses (tests/fuzz/), FUZZ_SECONDS (60) each, seeded from tests/fuzz/seeds
#   make asan       unit + integration tests with ASan/UBSan
#   make valgrind   unit tests, and the daemon in integration tests, under valgrind
#   make check      clang-format check, cppcheck and shellcheck
#   make bench      benchmarks (results: docs/PERFORMANCE.md)
#   make vmlinux    regenerate vmlinux/$(ARCH)/vmlinux.h from the running kernel
#   make install    the binary, systemd unit, man page and docs under $(DESTDIR)$(PREFIX)
#                   (PREFIX=/usr/local); make uninstall removes them
#   make image      hostmon's container image (Dockerfile) as hostmon:latest (IMAGE=name:tag)
#   make image-laravel  the example Laravel backend (examples/laravel/) as laravel-example:latest
#                   (LARAVEL_IMAGE=name:tag)
#
# Layout: bpf/<capability>/<name>.bpf.c -> $(BUILD)/bpf/<name>.bpf.o (DWARF stripped, BTF kept)
# -> $(BUILD)/skel/<name>.skel.h, included as "skel/<name>.skel.h" by user/<capability>/ only.
# Project headers are included by path from user/ ("core/log.h") or from the top level
# ("bpf/cgroup_cpu/cgroup_cpu.h"); -iquote keeps <bpf/libbpf.h> pointing at libbpf.

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
STRIP_BPF ?= llvm-strip
SANITIZE ?=
PKG_CONFIG ?= pkg-config
DOCKER   ?= docker
IMAGE    ?= hostmon:latest
LARAVEL_IMAGE ?= laravel-example:latest

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
PKGS := libbpf libcurl libcjson zlib libelf libisal

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libcurl is opened at run time by user/lib/curl_dl.c: its headers are needed, its library is not linked
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null)

CFLAGS ?= -O2 -g
# Tables of rows (options, metric families) leave trailing fields zero on purpose.
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers -D_GNU_SOURCE -MMD -MP \
	  -iquote user -iquote . -iquote $(BUILD) $(PKG_CFLAGS) -DHOSTMON_VERSION='"$(VERSION)"'
LDLIBS += $(PKG_LIBS) -lm -lpthread -ldl
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# BPF: CO-RE against the checked-in vmlinux.h; the multiarch dir holds asm/ headers.
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -MMD -MP \
	      -iquote bpf -iquote vmlinux/$(ARCH) -I/usr/include/$(shell uname -m)-linux-gnu

find_src = $(shell find $(1) -name '$(2)' -type f | sort)

BPF_SRCS  := $(call find_src,bpf,*.bpf.c)
BPF_NAMES := $(notdir $(BPF_SRCS:.bpf.c=))
BPF_OBJS  := $(BPF_NAMES:%=$(BUILD)/bpf/%.bpf.o)
SKELS     := $(BPF_NAMES:%=$(BUILD)/skel/%.skel.h)
USER_SRCS := $(call find_src,user,*.c)
USER_HDRS := $(call find_src,user,*.h)
USER_OBJS := $(USER_SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS  := $(filter-out $(BUILD)/user/core/main.o,$(USER_OBJS))
UNIT_SRCS := $(call find_src,tests/unit,test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
BPFT_SRCS := $(call find_src,tests/bpf,test_*.c)
BPFT_BINS := $(BPFT_SRCS:%.c=$(BUILD)/%)
# Each fuzz harness also as a plain program replaying its seeds once (the fuzz layer of make test).
REPLAY_SRCS := $(call find_src,tests/fuzz,fuzz_*.c)
REPLAY_BINS := $(REPLAY_SRCS:%.c=$(BUILD)/%)
BENCH_SRCS := $(wildcard bench/*_bench.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
C_FILES   := $(USER_SRCS) $(USER_HDRS) $(call find_src,bpf,*.[ch]) \
	     $(call find_src,tests,*.[ch]) $(BENCH_SRCS)

.PHONY: all deps-run deps-test deps-kernels run test test-unit test-bpf test-fuzz-seeds test-integration soak fuzz \
	test-kernels test-all asan valgrind check format bench vmlinux clean image image-laravel \
	docker-base install uninstall FORCE
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/hostmon

deps-run:
	@./scripts/deps.sh run

deps-test:
	@./scripts/deps.sh test

deps-kernels:
	@./scripts/deps.sh kernels

# One object per program; the embedded copy needs BTF (CO-RE) but not DWARF.
$(BUILD)/bpf/%.bpf.o: | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@.full
	$(STRIP_BPF) -g $@.full -o $@
	rm -f $@.full
$(foreach s,$(BPF_SRCS),$(eval $(BUILD)/bpf/$(notdir $(s:.bpf.c=.bpf.o)): $(s)))

$(BUILD)/skel/%.skel.h: $(BUILD)/bpf/%.bpf.o | $(BUILD)/skel
	$(BPFTOOL) gen skeleton $< > $@

# Every skeleton, listed for the BPF test layer that loads them all.
$(BUILD)/skel/skeletons.h: $(SKELS)
	( for s in $(BPF_NAMES); do echo "#include \"skel/$$s.skel.h\""; done; \
	  echo "#define HOSTMON_SKELETONS(X) \\"; \
	  for s in $(BPF_NAMES); do echo "	X($${s}_bpf) \\"; done; echo ) > $@

# A collector's objects (user/<capability>/) depend on its own skeleton, nothing else does.
$(foreach n,$(BPF_NAMES),$(eval $(filter $(BUILD)/user/$(n)/%,$(USER_OBJS)): $(BUILD)/skel/$(n).skel.h))
$(BUILD)/bench/hook_floor_bench: $(BUILD)/skel/hook_floor.skel.h
$(BUILD)/bench/oom_exit_bench: $(BUILD)/skel/hook_floor.skel.h $(BUILD)/skel/cgroup_saturation.skel.h

$(BUILD)/user/%.o: user/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/hostmon: $(USER_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -iquote tests/unit $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

$(BUILD)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB_OBJS) $(LDLIBS)

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(LIB_OBJS) $(BUILD)/skel/skeletons.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -iquote tests/unit $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB_OBJS) | $(BUILD)/bench
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

$(BUILD)/bpf $(BUILD)/skel $(BUILD)/bench:
	mkdir -p $@

run: deps-run
	$(MAKE) all
	$(BUILD)/hostmon

test: deps-test
	$(MAKE) all $(UNIT_BINS) $(BPFT_BINS) $(REPLAY_BINS)
	./tests/run.sh $(BUILD) all

test-unit: $(UNIT_BINS)
	./tests/run.sh $(BUILD) unit

test-bpf: all $(BPFT_BINS)
	./tests/run.sh $(BUILD) bpf

# The fuzz harnesses' entry points on their seeds, once each (make fuzz is the real fuzzing).
test-fuzz-seeds: $(REPLAY_BINS)
	./tests/run.sh $(BUILD) fuzz

test-integration: all
	./tests/run.sh $(BUILD) integration

# Other kernels under qemu (tests/kernels/run.sh): one guest at a time, KERNELS="6.12" for one.
KERNELS ?= 6.1 6.12
test-kernels: deps-kernels
	$(MAKE) all $(BPFT_BINS)
	./tests/kernels/run.sh $(BUILD) $(KERNELS)

test-all: test
	$(MAKE) soak
	$(MAKE) test-kernels
	$(MAKE) fuzz

# The soak test for 10 minutes (60 s of it run inside make test): memory levels off, fds constant.
soak: deps-test all
	HOSTMON_SOAK_SECONDS=600 ./tests/run.sh $(BUILD) integration/web/test_soak.py

# Fuzzing (clang's libFuzzer with ASan/UBSan): each harness links only the parser it drives.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	       -iquote user -D_GNU_SOURCE
$(BUILD)/fuzz/fuzz_request: tests/fuzz/fuzz_request.c user/web/request.c user/web/request.h
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_request.c user/web/request.c

$(BUILD)/fuzz/fuzz_rabbitmq: tests/fuzz/fuzz_rabbitmq.c user/rabbitmq/parse.c user/rabbitmq/list.c \
			     user/rabbitmq/parse.h user/rabbitmq/list.h
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_rabbitmq.c user/rabbitmq/parse.c \
		user/rabbitmq/list.c -lm

FUZZ_PROM_SRCS := tests/fuzz/fuzz_rabbitmq_prom.c user/rabbitmq/prom_parse.c user/rabbitmq/list.c \
	user/exposition/expo_parse.c user/exposition/metrics.c user/exposition/family_table.c \
	user/lib/buf.c
$(BUILD)/fuzz/fuzz_rabbitmq_prom: $(FUZZ_PROM_SRCS) $(USER_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $(FUZZ_PROM_SRCS) -lm

FUZZ_CONFIG_SRCS := tests/fuzz/fuzz_config.c user/core/config.c user/config/options.c \
	$(wildcard user/*/settings.c) user/restart/rule.c user/http_latency/routes.c \
	user/core/log.c user/lib/parse.c user/lib/buf.c user/lib/filetrust.c
$(BUILD)/fuzz/fuzz_config: $(FUZZ_CONFIG_SRCS) $(USER_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -iquote . -iquote $(BUILD) $(PKG_CFLAGS) -DHOSTMON_VERSION='"$(VERSION)"' \
		-o $@ $(FUZZ_CONFIG_SRCS) $(PKG_LIBS) -lm

FUZZ_BINS := $(addprefix $(BUILD)/fuzz/fuzz_,request rabbitmq rabbitmq_prom config)
fuzz: $(FUZZ_BINS)
	./tests/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS) request rabbitmq rabbitmq_prom config

# Sanitizer build in its own folder so it never mixes with the normal objects.
asan: deps-test
	$(MAKE) BUILD=build-asan SANITIZE=1 build-asan/hostmon \
		$(UNIT_BINS:$(BUILD)/%=build-asan/%) $(REPLAY_BINS:$(BUILD)/%=build-asan/%)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		./tests/run.sh build-asan unit fuzz integration

valgrind: deps-test
	$(MAKE) all $(UNIT_BINS) $(REPLAY_BINS)
	HOSTMON_VALGRIND=1 ./tests/run.sh $(BUILD) unit fuzz integration

check: deps-test
	@echo "check: clang-format ($(words $(C_FILES)) files)"
	@clang-format --dry-run --Werror $(C_FILES)
	@echo "check: cppcheck (user/)"
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --std=c11 -D_GNU_SOURCE -Iuser -I. $(USER_SRCS)
	@echo "check: shellcheck"
	@shellcheck scripts/*.sh tests/*.sh tests/kernels/*.sh bench/*.sh .ci/run
	@echo "check: clean"

format:
	clang-format -i $(C_FILES)

bench: deps-test
	$(MAKE) all $(BENCH_BINS)
	./bench/run.sh $(BUILD)
	./bench/cpu.sh $(BUILD)
	/usr/bin/python3 bench/map_memory.py $(BUILD)
	/usr/bin/python3 bench/http_latency.py $(BUILD)
	/usr/bin/python3 bench/http_latency_programs.py $(BUILD)
	/usr/bin/python3 bench/http_latency_php.py $(BUILD) --mode fastcgi
	/usr/bin/python3 bench/http_latency_php.py $(BUILD) --mode usdt
	/usr/bin/python3 bench/cgroup_saturation.py $(BUILD)
	/usr/bin/python3 bench/cgroup_tcp.py $(BUILD)
	/usr/bin/python3 bench/nodejs_eventloop.py $(BUILD)

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h
	@echo "regenerated vmlinux/$(ARCH)/vmlinux.h from kernel $$(uname -r)"

# Images: a Docker daemon (started by hand where no service manager runs one) and the
# debian:bookworm-slim base (made with debootstrap where no registry can be reached) first.
docker-base:
	@./scripts/dockerd.sh
	@./scripts/base-image.sh

# The build stage is tagged so its layers stay the next build's cache; images of older builds
# (untagged, with the hostmon.image label) are pruned.
image: docker-base
	$(DOCKER) build -q --target build -t hostmon-build:cache --build-arg VERSION=$(VERSION) .
	$(DOCKER) build -t $(IMAGE) --build-arg VERSION=$(VERSION) .
	@$(DOCKER) image prune -f --filter label=hostmon.image >/dev/null

image-laravel: docker-base
	$(DOCKER) build -t $(LARAVEL_IMAGE) examples/laravel
	@$(DOCKER) image prune -f --filter label=hostmon.image >/dev/null

# Install: the unit's paths (ExecStart, Documentation) are written for PREFIX; the man page is
# generated from the binary's own --help texts (scripts/manpage.sh).
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(PREFIX)/bin
UNITDIR := $(PREFIX)/lib/systemd/system
MANDIR  := $(PREFIX)/share/man/man8
DOCDIR  := $(PREFIX)/share/doc/hostmon

$(BUILD)/hostmon.8: $(BUILD)/hostmon scripts/manpage.sh FORCE
	./scripts/manpage.sh $(BUILD)/hostmon $(PREFIX) > $@

$(BUILD)/hostmon.service: deploy/systemd/hostmon.service FORCE
	sed -e 's|/usr/local/|$(PREFIX)/|g' $< > $@

install: $(BUILD)/hostmon $(BUILD)/hostmon.8 $(BUILD)/hostmon.service
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR) \
		$(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR)/deploy
	install -m 0755 $(BUILD)/hostmon $(DESTDIR)$(BINDIR)/hostmon
	install -m 0644 $(BUILD)/hostmon.service $(DESTDIR)$(UNITDIR)/hostmon.service
	install -m 0644 $(BUILD)/hostmon.8 $(DESTDIR)$(MANDIR)/hostmon.8
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 0644 $(wildcard docs/*.md) $(DESTDIR)$(DOCDIR)/docs/
	cp -R deploy/prometheus deploy/kubernetes deploy/grafana $(DESTDIR)$(DOCDIR)/deploy/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hostmon $(DESTDIR)$(UNITDIR)/hostmon.service \
		$(DESTDIR)$(MANDIR)/hostmon.8
	rm -rf $(DESTDIR)$(DOCDIR)

FORCE:

clean:
	rm -rf build build-asan

-include $(USER_OBJS:.o=.d) $(BPF_OBJS:.o=.d)
