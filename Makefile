# liangze - build, run and test.
#
#   make            build every binary into build/
#   make run        install what is missing, build, start the local stack with the demo city
#   make stop       stop what make run started
#   make web        the dashboard's npm packages and web/vendor/ (run and test need it)
#   make test       install what is missing, build, lint, every test on a stack of its own
#   make lint       format check, banned functions, cppcheck
#   make deps       install missing Debian packages (needs root or sudo)
#   make asan       the unit tests built with AddressSanitizer and UBSan, in build-asan/

B        ?= build
Q        ?= @
CC       ?= gcc
PKGS      = libczmq libzmq libprotobuf-c hiredis libpq libmicrohttpd jansson libsodium libcurl
BUILD_ID := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
OPT      ?= -O2 -g
SAN      ?=
CFLAGS   += -std=c11 -Wall -Wextra -Werror $(OPT) $(SAN) -D_GNU_SOURCE -DLZ_BUILD='"$(BUILD_ID)"' \
            -Icommon -Iservices -I$(B)/proto -MMD -MP
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS   += $(PKG_LIBS) -lm -lpthread

PROTOS    = $(wildcard proto/*.proto)
PB_SRC    = $(patsubst proto/%.proto,$(B)/proto/%.pb-c.c,$(PROTOS))
PB_HDR    = $(PB_SRC:.c=.h)
PB_OBJ    = $(PB_SRC:.c=.o)
COMMON_OBJ = $(patsubst %.c,$(B)/%.o,$(wildcard common/*.c))
LIB       = $(B)/libliangze.a

SERVICES  = $(notdir $(wildcard services/*))
SVC_BINS  = $(patsubst %,$(B)/bin/lz-%,$(SERVICES))
CLI_BIN   = $(B)/bin/liangze
UNIT_BINS = $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
IT_BINS   = $(patsubst tests/integration/%.c,$(B)/tests/%,$(wildcard tests/integration/*.c))
BENCH_BINS = $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))

.PHONY: all deps run stop test unit unit-bins lint format asan clean compose-check web
all: $(SVC_BINS) $(CLI_BIN) $(UNIT_BINS) $(IT_BINS) $(BENCH_BINS)

# --- generated protobuf-c code (never committed) ---
$(B)/proto/%.pb-c.c $(B)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(B)/proto
	@echo '  PROTOC  $<'
	$(Q)protoc-c --c_out=$(B)/proto -Iproto $<

$(B)/proto/%.pb-c.o: $(B)/proto/%.pb-c.c
	@echo '  CC      $@'
	$(Q)$(CC) -std=c11 $(OPT) $(SAN) -I$(B)/proto $(PKG_CFLAGS) -c $< -o $@

# --- objects: every C file waits for the generated headers ---
$(B)/%.o: %.c | $(PB_HDR)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(LIB): $(COMMON_OBJ) $(PB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

# one binary per service folder: every .c in it
.SECONDARY:
.SECONDEXPANSION:
$(B)/bin/lz-%: $$(addprefix $(B)/,$$(subst .c,.o,$$(wildcard services/$$*/*.c))) $(LIB)
	@mkdir -p $(B)/bin
	@echo '  LD      $@'
	$(Q)$(CC) $(SAN) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

# the CLI works through the services' own modules (seed, cache rebuild, sample verify, ...):
# it links every service's modules but the broker's and the gateway's
CLI_MODULE_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out %/main.c services/broker/% services/gateway/%,\
                   $(wildcard services/*/*.c)))
$(CLI_BIN): $(patsubst %.c,$(B)/%.o,$(wildcard cli/*.c)) $(CLI_MODULE_OBJ) $(LIB)
	@mkdir -p $(B)/bin
	@echo '  LD      $@'
	$(Q)$(CC) $(SAN) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

# unit test test_NAME[_more].c may reach into services/NAME/: it links that service's modules
svc_objs = $(patsubst %.c,$(B)/%.o,$(filter-out %/main.c,$(wildcard services/$(firstword $(subst _, ,$(1)))/*.c)))
$(B)/tests/test_%: tests/unit/test_%.c $(LIB) $$(call svc_objs,$$*)
	@mkdir -p $(B)/tests
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -Iservices -o $@ $< $(call svc_objs,$*) $(LIB) $(LDLIBS) -lcmocka

$(B)/tests/%: tests/integration/%.c $(LIB)
	@mkdir -p $(B)/tests
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# a benchmark bench/NAME[_more].c links services/NAME/'s modules, like unit tests
$(B)/bench/%: bench/%.c $(LIB) $$(call svc_objs,$$*)
	@mkdir -p $(B)/bench
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(call svc_objs,$*) $(LIB) $(LDLIBS)

# --- set-up, running and testing ---
deps:
	@deploy/local/deps.sh

run: deps all web
	@deploy/local/run.sh dev

stop:
	@deploy/local/run.sh dev stop

# the dashboard's npm packages (web/package-lock.json) and web/vendor/; fast when done
web:
	@web/build.sh

test: deps all web
	@$(MAKE) --no-print-directory asan
	@tests/run.sh

unit: all
	@tests/run.sh unit

lint:
	@tests/lint.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

asan:
	@$(MAKE) --no-print-directory B=build-asan OPT="-O1 -g" \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		unit-bins

# the unit tests alone (make asan builds only these with the sanitizers)
unit-bins: $(UNIT_BINS)

compose-check:
	docker-compose -f docker-compose.yml config -q

clean:
	rm -rf $(B) build-asan

-include $(shell find $(B) -name '*.d' 2>/dev/null)
