# capsa - one static binary that runs a command in a KVM micro-VM.
#
#   make            build ./capsa (installs missing Debian build packages)
#   make check      unit tests, then the VM tests (in an emulated KVM host
#                   when this machine's KVM cannot boot a guest)
#   make bench      side-by-side benchmarks against QEMU
#   make fuzz       run each libFuzzer harness for FUZZ_SECONDS

B        := build
VERSION  := 0.1.0
CC       := musl-gcc
WARN     := -Wall -Wextra -Wformat=2 -Wmissing-prototypes -Wimplicit-fallthrough \
            -Wshadow -Wno-unused-parameter -Werror
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -D_GNU_SOURCE -isystem $(B)/kinc -I$(B)/seccomp/include \
            -DCAPSA_VERSION='"$(VERSION)"' -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDFLAGS  := -static -pthread -Wl,-z,relro,-z,now,-z,noexecstack

# guest/exec_wire.c: the exec protocol, spoken by capsa exec and the init alike.
SRCS := capsa.c $(wildcard vmm/*.c virtio/*.c boot/*.c jail/*.c vmm/net/*.c) guest/exec_wire.c
OBJS := $(SRCS:%.c=$(B)/obj/%.o)
SECCOMP := $(B)/seccomp/lib/libseccomp.a
KERNEL  := $(B)/bzImage
INITRD  := $(B)/initramfs.cpio

all: capsa

$(B)/.deps: .ci/deps
	@mkdir -p $(B)
	sh .ci/deps
	@touch $@

$(SECCOMP): jail/build-libseccomp.sh $(B)/.deps
	sh jail/build-libseccomp.sh $(B)

$(KERNEL): boot/guest.config boot/build-kernel.sh $(wildcard boot/patches/*.patch) $(B)/.deps
	boot/build-kernel.sh $@ boot/guest.config

# vmm/net/policy.c: the guest checks DNS names as the broker will.
GUEST_SRCS := $(wildcard guest/*.c) vmm/net/policy.c
$(B)/init: $(wildcard guest/*.c guest/*.h) vmm/net/policy.c vmm/net/policy.h vmm/net/wire.h $(SECCOMP)
	$(CC) $(CFLAGS) -Os $(LDFLAGS) -o $@ $(GUEST_SRCS)
	strip $@

# The base initramfs: the init and Debian's busybox-static with its applets.
$(INITRD): $(B)/init boot/mkinitramfs.sh $(B)/.deps
	sh boot/mkinitramfs.sh $@ $(B)/init /bin/busybox

$(B)/obj/%.o: %.c $(SECCOMP) $(wildcard */*.h vmm/net/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(B)/obj/embed.o: boot/embed.S $(KERNEL) $(INITRD)
	@mkdir -p $(dir $@)
	$(CC) -c -DGUEST_KERNEL='"$(KERNEL)"' -DGUEST_INITRD='"$(INITRD)"' -o $@ $<

# Stripped: the one file users carry (debug info stays in $(B)/capsa.debug).
capsa: $(OBJS) $(B)/obj/embed.o $(SECCOMP)
	$(CC) $(LDFLAGS) -o $(B)/capsa.debug $^
	strip -o $@ $(B)/capsa.debug

# ---- tests -----------------------------------------------------------------

# unit: tests/unit/unit.mk; fuzz: tests/fuzz/fuzz.mk

vm-test: capsa
	EHOST_TIMEOUT=$${EHOST_TIMEOUT:-3600} EHOST_FILES="$(VM_TEST_FILES)" \
		sh tests/vm/run-host.sh $(B) ./capsa

# The main job: `capsa -- uname -a`, through the emulated KVM host when this
# machine's KVM cannot boot a guest.
run: capsa $(VM_TEST_BINS)
	sh tests/vm/run-host.sh $(B) ./capsa t_uname

# Each test tier may add its own rules (unit, fuzz, bench ...).
-include $(sort $(wildcard tests/*/*.mk))

# After the include: each tier's .mk adds its targets to CHECK_TARGETS.
check: unit $(CHECK_TARGETS) vm-test

clean:
	rm -rf $(B)/obj $(B)/obj-test $(B)/unit $(B)/jail $(B)/capsa-test $(B)/init $(INITRD) capsa

.PHONY: all unit vm-test check clean run
