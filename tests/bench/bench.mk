# tests/bench/bench.mk - `make bench`: capsa side by side with QEMU microvm,
# included by the Makefile. Each bench-* target runs one part; bench runs
# them all, then prints the table and writes $(B)/bench.json.
#
#   make bench          everything (about 15 minutes in the emulated KVM host)
#   make bench-vm       boot, memory, output and vsock (tests/bench/vm.sh)
#   make bench-blk      disk (tests/bench/blk.sh)
#   make bench-net      TCP over a tap (tests/bench/net.sh)
#   make bench-netuser  --net user against QEMU with slirp and with passt
#                       (tests/bench/netuser.sh)
#   make bench-exec     `capsa exec PATH -- true` beside `capsa -- true`
#                       (tests/bench/exec.sh)
#   make bench-fs       shared directories: virtio-fs against virtiofsd and
#                       virtio-9p (tests/bench/fs.sh)
#   make bench-report   the table and JSON again from the last logs
#   make bench-ehost    how often the emulated KVM host kills a guest, capsa's
#                       and QEMU's side by side (not part of bench; 1-2 min a round)
#
# Knobs (environment): see tests/bench/vm.sh and tests/bench/blk.sh.

BENCH_BIN   := $(B)/bench-bin
BENCH_TOOLS := $(BENCH_BIN)/measure $(BENCH_BIN)/vsockhost $(BENCH_BIN)/bstream

$(BENCH_BIN)/%: tests/bench/%.c guest/proto.h $(SECCOMP)
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -isystem $(B)/kinc -static -o $@ $<

# The per-run cpio exactly as capsa builds it: linked with capsa's objects.
$(BENCH_BIN)/mkrun: tests/bench/mkrun.c $(filter-out $(B)/obj/capsa.o,$(OBJS)) $(SECCOMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -I. -o $@ $^

bench-vm: capsa $(INITRD) $(BENCH_TOOLS) $(BENCH_BIN)/mkrun
	sh tests/bench/vm.sh $(B) ./capsa $(BENCH_BIN)

bench-net: capsa $(B)/tests-bin/nettool
	bash tests/bench/net.sh

bench-netuser: capsa $(B)/tests-bin/netlab $(BENCH_BIN)/connrate
	bash tests/bench/netuser.sh

bench-exec: capsa $(BENCH_BIN)/measure
	sh tests/bench/exec.sh $(B) ./capsa $(BENCH_BIN)

bench-fs: capsa fs-fixtures
	sh tests/bench/fs.sh $(B) ./capsa

# Under `make bench` one emulated host at a time (2 cores are plenty busy).
ifneq ($(filter bench,$(MAKECMDGOALS)),)
bench-vm: | bench-blk
bench-net: | bench-vm
bench-exec: | bench-net
bench-fs: | bench-exec
bench-netuser: | bench-fs
endif

bench-ehost: capsa
	sh tests/bench/ehost-ab.sh $(B) ./capsa $(or $(ROUNDS),12)

bench-report:
	python3 tests/bench/report.py $(B) ./capsa

bench: bench-vm bench-net bench-exec bench-fs bench-netuser
	python3 tests/bench/report.py $(B) ./capsa

.PHONY: bench-vm bench-net bench-exec bench-fs bench-netuser bench-ehost bench-report
