# rcsgw — plain Makefile driven by pkg-config.
#
#   make            daemon, CLI, bench tools        (build/)
#   make run        deps + build + start rcsgw on its embedded defaults
#   make test       deps + build + unit + integration tests, then the same under ASan+UBSan
#   make asan       unit + integration tests under ASan+UBSan (build-asan/)
#   make fuzz       libFuzzer targets, a short bounded run each (build-fuzz/)
#   make bench      the benchmark suite, results in bench/results/ (bench/README.md)
#   make deps       install the Debian 12 packages the project needs (root) or print the line
#   make install    rcsgw, rcsgwctl, etc/rcsgw.conf and the systemd unit (PREFIX, DESTDIR)
#   make clean

SHELL   := /bin/bash
BUILD   ?= build
CC      ?= cc
SAN     ?=
OPT     ?= -O2
PKGS    := liburing wolfssl hiredis libprotobuf-c libmicrohttpd jansson libconfig expat libcares libcurl

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lwslay

CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -fno-strict-aliasing -pthread -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -pthread -lm

# keep intermediate objects (bench/lib) between runs
.SECONDARY:

export LSAN_OPTIONS ?= suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# Every layer's .c goes into one static library; cmd/, bench/ and tests/ link against it.
LAYERS   := common engine msrp sip diameter shards gateway rcs callcenter api
LIB_SRC  := $(foreach d,$(LAYERS),$(wildcard $(d)/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/librcsgw.a

# protobuf-c messages (shards/*.proto): generated into $(BUILD)/gen, compiled into the library,
# included as "shards/<name>.pb-c.h"
PROTO_SRC := $(wildcard shards/*.proto)
PROTO_H   := $(PROTO_SRC:%.proto=$(BUILD)/gen/%.pb-c.h)
PROTO_OBJ := $(PROTO_SRC:%.proto=$(BUILD)/gen/%.pb-c.o)
LIB_OBJ   += $(PROTO_OBJ)
CFLAGS    += -I$(BUILD)/gen

CMDS     := $(patsubst cmd/%.c,$(BUILD)/%,$(wildcard cmd/*.c))
BENCHES  := $(patsubst bench/%.c,$(BUILD)/%,$(wildcard bench/*.c))
BENCH_LIB_SRC := $(wildcard bench/lib/*.c)
BENCH_LIB_OBJ := $(BENCH_LIB_SRC:%.c=$(BUILD)/%.o)

UNIT_SRC := $(wildcard tests/unit/*.c)
INTG_SRC := $(wildcard tests/integration/*.c)
TEST_LIB_SRC := $(wildcard tests/lib/*.c)
TEST_LIB_OBJ := $(TEST_LIB_SRC:%.c=$(BUILD)/%.o)

.PHONY: all run test check asan fuzz bench deps clean unit integration soak install
all: $(CMDS) $(BENCHES)

$(BUILD)/%.o: %.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: %.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen $<

$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	$(CC) $(CFLAGS) -c $< -o $@

# the API embeds openapi.yaml with .incbin, which -MMD does not see
$(BUILD)/api/api_http.o: api/openapi.yaml

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^


$(BUILD)/%: cmd/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/%: bench/%.c $(BENCH_LIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BENCH_LIB_OBJ) $(LIB) $(LDLIBS) -o $@

$(BUILD)/test_unit: $(UNIT_SRC:%.c=$(BUILD)/%.o) $(TEST_LIB_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcriterion -o $@

$(BUILD)/test_integration: $(INTG_SRC:%.c=$(BUILD)/%.o) $(TEST_LIB_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcriterion -o $@

deps:
	@sh scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	exec $(BUILD)/rcsgw $(RUN_ARGS)

# faults_flood (tests/integration/FAULTS.md): malformed frames per surface of the daemon.
# 100 000 (the test's default) by hand and in make soak; fewer in make check / make asan
# (about 10 s each for the eight tests, normal and ASan).
FAULT_FRAMES ?= 10000
FAULT_FRAMES_ASAN ?= 5000

# check: the whole suite for one build flavour (BUILD/SAN select it). Each runner's output
# is kept in $(BUILD)/test-*.log for the summary that `make test` prints last.
check: all $(BUILD)/test_unit $(BUILD)/test_integration
	@set -o pipefail 2>/dev/null; RCSGW_BUILD=$(BUILD) $(BUILD)/test_unit --jobs 2 $(TEST_ARGS) 2>&1 | tee $(BUILD)/test-unit.log
	@set -o pipefail 2>/dev/null; RCSGW_FAULT_FRAMES=$(FAULT_FRAMES) RCSGW_BUILD=$(BUILD) $(BUILD)/test_integration --jobs 1 $(TEST_ARGS) 2>&1 | tee $(BUILD)/test-integration.log

unit: $(BUILD)/test_unit
	RCSGW_BUILD=$(BUILD) $(BUILD)/test_unit $(TEST_ARGS)

integration: all $(BUILD)/test_integration
	RCSGW_BUILD=$(BUILD) $(BUILD)/test_integration --jobs 1 $(TEST_ARGS)

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 OPT=-O1 FAULT_FRAMES=$(FAULT_FRAMES_ASAN) check

# soak: the long versions of the load tests, not part of make test. First bench/soak.sh: the
# mixed soak of every path against rcsgw's ASan + UBSan build in $(SOAK_BUILD) (LeakSanitizer
# at its exit), SOAK_SECONDS (1800) of load, RSS / fds / sessions sampled, growth after the
# warm-up checked (SOAK_* knobs: see bench/soak.sh; results in bench/results/soak-<date>/).
# Then the contact centre's: 1000 chats and 200 calls over 5 minutes across 50 agents, 40 s
# each (make test: 80 chats, 12 calls / 12 s / 8 agents / 4 s).
SOAK_BUILD ?= build-asan
CC_LOAD_CHATS ?= 1000
CC_LOAD_SECONDS ?= 300
CC_LOAD_AGENTS ?= 50
CC_LOAD_HOLD_S ?= 40
CC_LOAD_CALLS ?= 200
soak: deps all $(BUILD)/test_integration
	@$(MAKE) --no-print-directory BUILD=$(SOAK_BUILD) SAN=1 OPT=-O1 $(SOAK_BUILD)/rcsgw
	SOAK_BUILD=$(SOAK_BUILD) SOAK_GEN_BUILD=$(BUILD) sh bench/soak.sh
	CC_LOAD_CHATS=$(CC_LOAD_CHATS) CC_LOAD_SECONDS=$(CC_LOAD_SECONDS) \
	    CC_LOAD_AGENTS=$(CC_LOAD_AGENTS) CC_LOAD_HOLD_S=$(CC_LOAD_HOLD_S) \
	    CC_LOAD_CALLS=$(CC_LOAD_CALLS) RCSGW_BUILD=$(BUILD) \
	    $(BUILD)/test_integration --jobs 1 --filter 'cc/load*' $(TEST_ARGS)
	RCSGW_FAULT_FRAMES=100000 RCSGW_BUILD=$(BUILD) \
	    $(BUILD)/test_integration --jobs 1 --filter 'faults_flood/*' $(TEST_ARGS)

test: deps
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory asan
	@set -o pipefail 2>/dev/null; sh scripts/check-docker.sh 2>&1 | tee build/test-docker.log
	@set -o pipefail 2>/dev/null; sh scripts/check-systemd.sh 2>&1 | tee build/test-systemd.log
	@set -o pipefail 2>/dev/null; $(MAKE) --no-print-directory fuzz 2>&1 | tee build/test-fuzz.log
	@sh scripts/test-summary.sh build/test-unit.log build/test-integration.log \
	    build-asan/test-unit.log build-asan/test-integration.log build/test-docker.log \
	    build/test-systemd.log build/test-fuzz.log

FUZZ_SRC := $(wildcard tests/fuzz/*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 5
.PHONY: fuzz-lib
fuzz-lib:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang SAN=1 OPT=-O1 \
	    CFLAGS_EXTRA=-fsanitize=fuzzer-no-link build-fuzz/librcsgw.a
build-fuzz/%: tests/fuzz/%.c fuzz-lib
	clang -std=c11 -D_GNU_SOURCE -O1 -g -I. $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined $< build-fuzz/librcsgw.a $(LDLIBS) -o $@
fuzz: $(FUZZ_BIN)
	@sh scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# the whole benchmark suite: every area, its references, BENCH_RUNS runs each, results in
# bench/results/<date>-<commit>/ (bench/README.md, "make bench"); ~15 min on 2 cores
bench: deps $(BUILD)/engfwd $(BUILD)/rcsbench $(BUILD)/rcsgw
	@BUILD=$(BUILD) sh bench/suite.sh

# the engine alone: engfwd on io_uring and epoll against the same harness (bench/run.sh)
.PHONY: bench-engine
bench-engine: $(BUILD)/engfwd $(BUILD)/rcsbench
	@BUILD=$(BUILD) sh bench/run.sh

# MSRP relays compared under one load: rcsgw, Kamailio, engfwd (bench/README.md)
.PHONY: bench-relay
bench-relay: $(BUILD)/engfwd $(BUILD)/rcsbench $(BUILD)/rcsgw
	@BUILD=$(BUILD) sh bench/relay.sh

# SIP MESSAGE throughput through a stateless Kamailio; rcsgw's gateway once issue 6 lands
# (bench/README.md)
.PHONY: bench-message
bench-message:
	@BUILD=$(BUILD) sh bench/message.sh

# rcsgw's MSRP user agent over REST: session set-up rate, message throughput (bench/README.md)
.PHONY: bench-ua
bench-ua: $(BUILD)/rcsbench $(BUILD)/rcsgw
	@BUILD=$(BUILD) sh bench/ua.sh

# rcsgw's SIP MESSAGE -> MSRP gateway: sipp page-mode load, rcsbench ua-sink as the RCS
# phones (bench/README.md)
.PHONY: bench-cluster
bench-cluster: $(BUILD)/rcsbench $(BUILD)/rcsgw
	@BUILD=$(BUILD) sh bench/cluster.sh

.PHONY: bench-gateway
bench-gateway: $(BUILD)/rcsbench $(BUILD)/rcsgw
	@BUILD=$(BUILD) sh bench/gateway.sh

# Diameter requests through rcsgw's REST API to freeDiameterd: requests/s, p99 (issue 9,
# bench/README.md)
.PHONY: bench-diameter
bench-diameter: $(BUILD)/rcsbench $(BUILD)/rcsgw
	@BUILD=$(BUILD) sh bench/diameter.sh

# install: the daemon and the CLI into $(PREFIX)/bin, etc/rcsgw.conf as
# $(SYSCONFDIR)/rcsgw/rcsgw.conf unless one is there, and etc/rcsgw.service into $(UNITDIR)
# with those paths in its ExecStart. DESTDIR stages it all elsewhere.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR    ?= /etc/systemd/system
install: $(BUILD)/rcsgw $(BUILD)/rcsgwctl
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)/rcsgw $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/rcsgw $(BUILD)/rcsgwctl $(DESTDIR)$(PREFIX)/bin/
	[ -e $(DESTDIR)$(SYSCONFDIR)/rcsgw/rcsgw.conf ] || \
	    install -m 0644 etc/rcsgw.conf $(DESTDIR)$(SYSCONFDIR)/rcsgw/rcsgw.conf
	sed -e '/^ExecStart=/s#/usr/local/bin/#$(PREFIX)/bin/#' \
	    -e '/^ExecStart=/s# /etc/rcsgw/# $(SYSCONFDIR)/rcsgw/#' \
	    etc/rcsgw.service > $(DESTDIR)$(UNITDIR)/rcsgw.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/rcsgw.service

clean:
	rm -rf build build-asan build-fuzz

CFLAGS += $(CFLAGS_EXTRA)
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
