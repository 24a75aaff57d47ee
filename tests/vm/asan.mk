# capsa built with AddressSanitizer and UBSan (clang-14, glibc, Debian's
# libseccomp) for the hostile-guest test: a memory error in device code shows
# up as a report instead of passing silently. It is dynamically linked, so it
# ships with its loader and libraries as a fixture directory, started by the
# `run` script in it.
ASAN_BUNDLE := $(B)/fixtures/asan

$(UNIT_DIR)/asan/obj/embed.o: boot/embed.S $(KERNEL) $(INITRD)
	@mkdir -p $(dir $@)
	clang-14 -c -DGUEST_KERNEL='"$(KERNEL)"' -DGUEST_INITRD='"$(INITRD)"' -o $@ $<

$(ASAN_BUNDLE)/capsa: $(ASAN_OBJS) $(UNIT_DIR)/asan/obj/capsa.o $(UNIT_DIR)/asan/obj/embed.o
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(ASAN_FLAGS) -o $@ $^ -lseccomp -lpthread
	ldd $@ | awk '$$3 ~ /^\// { print $$3 } $$1 ~ /^\// { print $$1 }' | \
		while read -r lib; do cp -L "$$lib" $(ASAN_BUNDLE)/; done
	printf '#!/bin/sh\nd=$$(dirname "$$0")\nexec "$$d"/ld-linux-x86-64.so.2 --library-path "$$d" "$$d"/capsa "$$@"\n' >$(ASAN_BUNDLE)/run
	chmod +x $(ASAN_BUNDLE)/run

asan-capsa: $(ASAN_BUNDLE)/capsa
vm-test: asan-capsa

.PHONY: asan-capsa
