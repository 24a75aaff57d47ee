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

SRCS := capsa.c $(wildcard vmm/*.c virtio/*.c boot/*.c jail/*.c)
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

$(KERNEL): boot/guest.config boot/build-kernel.sh $(B)/.deps
	boot/build-kernel.sh $@ boot/guest.config

$(B)/init: guest/init.c guest/rootfs.c guest/proto.h guest/rootfs.h $(SECCOMP)
	$(CC) $(CFLAGS) -Os $(LDFLAGS) -o $@ guest/init.c guest/rootfs.c
	strip $@

# The base initramfs: the init and Debian's busybox-static with its applets.
$(INITRD): $(B)/init boot/mkinitramfs.sh $(B)/.deps
	sh boot/mkinitramfs.sh $@ $(B)/init /bin/busybox

$(B)/obj/%.o: %.c $(SECCOMP) $(wildcard */*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(B)/obj/embed.o: boot/embed.S $(KERNEL) $(INITRD)
	@mkdir -p $(dir $@)
	$(CC) -c -DGUEST_KERNEL='"$(KERNEL)"' -DGUEST_INITRD='"$(INITRD)"' -o $@ $<

capsa: $(OBJS) $(B)/obj/embed.o $(SECCOMP)
	$(CC) $(LDFLAGS) -o $@ $^

# ---- tests -----------------------------------------------------------------

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/unit/%)
LIB_OBJS  := $(filter-out $(B)/obj/capsa.o,$(OBJS))

$(B)/unit/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -I. -o $@ $< $(LIB_OBJS) $(SECCOMP)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "# $$t"; $$t; done

vm-test: capsa
	sh tests/vm/run-host.sh $(B) ./capsa

check: unit vm-test

# The main job: `capsa -- uname -a`, through the emulated KVM host when this
# machine's KVM cannot boot a guest.
run: capsa
	sh tests/vm/run-host.sh $(B) ./capsa t_uname

# Each test tier may add its own rules (unit, fuzz, bench ...).
-include $(wildcard tests/*/*.mk)

clean:
	rm -rf $(B)/obj $(B)/unit $(B)/init $(INITRD) capsa

.PHONY: all unit vm-test check clean run
