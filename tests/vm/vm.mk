# Helpers the VM tests run next to capsa (static, so they work in the
# emulated KVM host too).
VM_TEST_BINS := $(patsubst tests/vm/%.c,$(B)/tests-bin/%,$(wildcard tests/vm/*.c))

$(B)/tests-bin/%: tests/vm/%.c $(SECCOMP)
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -isystem $(B)/kinc -static -o $@ $<

vm-test: $(VM_TEST_BINS)
