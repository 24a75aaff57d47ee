# Helpers the VM tests run next to capsa (static, so they work in the
# emulated KVM host too).
# (kvmhold.c is not one: emulated-host.sh builds it for the emulated host.)
VM_TEST_BINS := $(patsubst tests/vm/%.c,$(B)/tests-bin/%,\
	$(filter-out tests/vm/kvmhold.c,$(wildcard tests/vm/*.c)))

$(B)/tests-bin/%: tests/vm/%.c $(SECCOMP)
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -isystem $(B)/kinc -static -o $@ $<

vm-test: $(VM_TEST_BINS)
