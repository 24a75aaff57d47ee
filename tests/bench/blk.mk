# Disk benchmark: capsa's virtio-blk against QEMU microvm's, same guest kernel
# and workload, in the emulated KVM host when this machine's KVM cannot boot.
bench-blk: capsa
	sh tests/bench/blk.sh $(B) ./capsa

bench: bench-blk

.PHONY: bench bench-blk
