# tests/jail/jail.mk - the jail's test builds, included by the Makefile.
#
#   make jail-test    host jail probe (no KVM): jail a forked child with the
#                     real jail code, check it from /proc and from inside
#   make capsa-test   build/capsa-test: capsa built with -DCAPSA_TEST_HOOKS
#                     (jail/escape.c; never in a release), for tests/vm/t_jail.sh

TEST_OBJS := $(SRCS:%.c=$(B)/obj-test/%.o)
JAIL_OBJS := $(filter $(B)/obj/jail/%.o $(B)/obj/vmm/util.o,$(OBJS))

$(B)/obj-test/%.o: %.c $(SECCOMP) $(wildcard */*.h vmm/net/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (test hooks)"
	@$(CC) $(CFLAGS) -DCAPSA_TEST_HOOKS -c -o $@ $<

$(B)/capsa-test: $(TEST_OBJS) $(B)/obj/embed.o $(SECCOMP)
	$(CC) $(LDFLAGS) -o $@ $^

$(B)/jail/probe: tests/jail/probe.c $(JAIL_OBJS) $(SECCOMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -I. -o $@ $^

capsa-test: $(B)/capsa-test

jail-test: $(B)/jail/probe
	$(B)/jail/probe

# make check runs the probe; the VM tests get capsa-test in /tests/bin.
CHECK_TARGETS += jail-test
VM_TEST_FILES += $(B)/capsa-test
vm-test: $(B)/capsa-test

.PHONY: capsa-test jail-test
