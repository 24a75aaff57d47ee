# tests/fuzz/fuzz.mk - libFuzzer harnesses, included by the Makefile.
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ=name...]
#
# Each tests/fuzz/fuzz_<name>.c is built with clang-14 under
# -fsanitize=fuzzer,address,undefined against the product sources compiled
# with the same sanitizers and coverage instrumentation, then run for
# FUZZ_SECONDS from its committed seeds (tests/fuzz/corpus/<name>/; new
# inputs go to $(B)/fuzz/corpus/<name>/). A second build with source-based
# coverage replays the corpus and reports the lines reached in the files the
# harness names on its "fuzz-sources:" line. A crash fails the target and
# leaves its input in $(B)/fuzz/crash/<name>/.

FUZZ_SECONDS ?= 60
FUZZ_DIR     := $(B)/fuzz
FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ         ?= $(FUZZ_ALL)
FUZZ_SRCS    := $(filter-out capsa.c jail/escape.c,$(SRCS)) tests/unit/fake.c tests/unit/drv.c \
                tests/unit/vsenv.c tests/unit/netenv.c
FUZZ_CFLAGS  := -std=gnu11 $(WARN) -Wno-format-nonliteral -D_GNU_SOURCE \
                -DCAPSA_VERSION='"$(VERSION)"' -O1 -g -fno-omit-frame-pointer \
                -I. -Itests/unit
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_COV     := -fprofile-instr-generate -fcoverage-mapping
FUZZ_LINK    := -Wl,--wrap=ioctl -lseccomp -lpthread

# Two builds of everything: f (fuzzing) and c (coverage replay).
$(FUZZ_DIR)/f/obj/%.o: %.c $(B)/.deps $(wildcard */*.h vmm/net/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@clang-14 $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/c/obj/%.o: %.c $(B)/.deps $(wildcard */*.h vmm/net/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	@clang-14 $(FUZZ_CFLAGS) $(FUZZ_COV) -c -o $@ $<

$(FUZZ_DIR)/f/libcapsa.a: $(FUZZ_SRCS:%.c=$(FUZZ_DIR)/f/obj/%.o)
	@rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/c/libcapsa.a: $(FUZZ_SRCS:%.c=$(FUZZ_DIR)/c/obj/%.o)
	@rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/f/fuzz_%: $(FUZZ_DIR)/f/obj/tests/fuzz/fuzz_%.o $(FUZZ_DIR)/f/libcapsa.a
	@echo "  FUZZLD  $@"
	@clang-14 $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LINK)

$(FUZZ_DIR)/c/fuzz_%: $(FUZZ_DIR)/c/obj/tests/fuzz/fuzz_%.o $(FUZZ_DIR)/c/libcapsa.a
	@clang-14 $(FUZZ_COV) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LINK)

fuzz-build: $(FUZZ:%=$(FUZZ_DIR)/f/fuzz_%) $(FUZZ:%=$(FUZZ_DIR)/c/fuzz_%)

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ)

fuzz-clean:
	rm -rf $(FUZZ_DIR)

clean: fuzz-clean

.PHONY: fuzz fuzz-build fuzz-clean
.PRECIOUS: $(FUZZ_DIR)/f/obj/%.o $(FUZZ_DIR)/c/obj/%.o
