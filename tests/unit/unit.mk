# tests/unit/unit.mk - host unit tests (no KVM), included by the Makefile.
#
#   make unit        every tests/unit/t_*.c twice: built with musl-gcc against
#                    the product's own objects, then with clang-14 + glibc
#                    under ASan and UBSan (any report fails the run); and
#                    the tests/unit/tsan_*.c races under ThreadSanitizer
#   make unit-musl   only the first;  make unit-asan  only the second;
#   make unit-tsan   only the races
#
# Tests link a static archive of the product objects, so each pulls in only
# what it uses (no libseccomp for pure logic). tests/unit/fake.c answers the
# KVM ioctls of a fake VM through -Wl,--wrap=ioctl.

UNIT_DIR   := $(B)/unit
UNIT_NAMES := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/t_*.c))
UNIT_HELP  := tests/unit/fake.c tests/unit/drv.c tests/unit/vsenv.c tests/unit/netenv.c
# Helpers only one test links: UNIT_EXTRA_<test>.
UNIT_EXTRA_t_broker := tests/unit/testnet.c
UNIT_EXTRA_t_fs := tests/unit/fsenv.c
UNIT_EXTRA_t_fs_hostile := tests/unit/fsenv.c
UNIT_EXTRA_t_net := tests/unit/netcase.c
UNIT_EXTRA_t_net_tx := tests/unit/netcase.c
UNIT_DEPS  := $(UNIT_HELP) $(wildcard tests/unit/*.h) tests/unit/testnet.c tests/unit/fsenv.c \
              tests/unit/netcase.c
UNIT_LINK  := -Wl,--wrap=ioctl

# musl: the objects capsa itself is linked from.
UNIT_MUSL_LIB  := $(UNIT_DIR)/musl/libcapsa.a
UNIT_MUSL_BINS := $(UNIT_NAMES:%=$(UNIT_DIR)/musl/%)

$(UNIT_MUSL_LIB): $(filter-out $(B)/obj/capsa.o,$(OBJS))
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^

$(UNIT_DIR)/musl/%: tests/unit/%.c $(UNIT_DEPS) $(UNIT_MUSL_LIB)
	@echo "  CC      $@"
	@$(CC) $(CFLAGS) -I. -Itests/unit $(LDFLAGS) $(UNIT_LINK) -o $@ \
		$< $(UNIT_HELP) $(UNIT_EXTRA_$*) $(UNIT_MUSL_LIB) $(SECCOMP)

# clang-14 + glibc, sanitized: the product (jail included, against Debian's
# glibc libseccomp) rebuilt with the same warnings.

ASAN_CC     := clang-14
ASAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
ASAN_CFLAGS := -std=gnu11 $(WARN) -Wno-format-nonliteral -D_GNU_SOURCE \
               -DCAPSA_VERSION='"$(VERSION)"' -O1 -g $(ASAN_FLAGS)
ASAN_SRCS   := $(filter-out capsa.c jail/escape.c,$(SRCS))
ASAN_OBJS   := $(ASAN_SRCS:%.c=$(UNIT_DIR)/asan/obj/%.o)
UNIT_ASAN_LIB  := $(UNIT_DIR)/asan/libcapsa.a
UNIT_ASAN_BINS := $(UNIT_NAMES:%=$(UNIT_DIR)/asan/%)

$(UNIT_DIR)/asan/obj/%.o: %.c $(B)/.deps $(wildcard */*.h vmm/net/*.h)
	@mkdir -p $(dir $@)
	@echo "  CLANG   $<"
	@$(ASAN_CC) $(ASAN_CFLAGS) -c -o $@ $<

$(UNIT_ASAN_LIB): $(ASAN_OBJS)
	@rm -f $@ && ar rcs $@ $^

$(UNIT_DIR)/asan/%: tests/unit/%.c $(UNIT_DEPS) $(UNIT_ASAN_LIB)
	@echo "  CLANG   $@"
	@$(ASAN_CC) $(ASAN_CFLAGS) -I. -Itests/unit $(UNIT_LINK) -o $@ \
		$< $(UNIT_HELP) $(UNIT_EXTRA_$*) $(UNIT_ASAN_LIB) -lseccomp -lpthread

# Run every test of one build; its TAP goes to $(UNIT_DIR)/<build>/<test>.log
# and one line per test to the terminal. Fails when any test failed.
define unit_run
	@sh tests/unit/run.sh $(1) $(2)
endef

unit-musl: $(UNIT_MUSL_BINS)
	$(call unit_run,musl,$^)

unit-asan: $(UNIT_ASAN_BINS)
	$(call unit_run,asan,$^)

unit: unit-musl unit-asan unit-tsan

.PHONY: unit unit-musl unit-asan

# ThreadSanitizer checks of the device/loop threading: a reset from a vCPU
# thread while another thread moves the device's data. Built like the asan
# tests with -fsanitize=thread, from the sources themselves (any report fails).
UNIT_TSAN_BINS := $(patsubst tests/unit/%.c,$(UNIT_DIR)/tsan/%,$(wildcard tests/unit/tsan_*.c))
UNIT_TSAN_SRCS := $(ASAN_SRCS)

$(UNIT_DIR)/tsan/%: tests/unit/%.c $(UNIT_DEPS) $(UNIT_TSAN_SRCS)
	@mkdir -p $(dir $@)
	@echo "  TSAN    $@"
	@$(ASAN_CC) $(filter-out $(ASAN_FLAGS),$(ASAN_CFLAGS)) -fsanitize=thread -I. -Itests/unit \
		$(UNIT_LINK) -o $@ $< $(UNIT_HELP) $(UNIT_TSAN_SRCS) -lseccomp -lpthread

unit-tsan: $(UNIT_TSAN_BINS)
	$(call unit_run,tsan,$^)

.PHONY: unit-tsan
