# virtio-blk VM test fixtures (tests/vm/t_blk.sh): a Debian root filesystem
# made with debootstrap (cached in $(B)/cache) as ext4 and squashfs images,
# and a small ext4. run-host.sh hands $(B)/fixtures to the VM tests.
BLK_FIXTURES := $(B)/fixtures/blk

$(B)/cache/blk-fixtures.stamp: tests/vm/blk-fixtures.sh tests/vm/debian-tree.sh $(B)/.deps
	sh tests/vm/blk-fixtures.sh $(BLK_FIXTURES) $(B)/cache
	@touch $@

blk-fixtures: $(B)/cache/blk-fixtures.stamp

vm-test: blk-fixtures

.PHONY: blk-fixtures
