# virtio-fs VM test fixtures (tests/vm/t_fs.sh): a Debian tree with python3
# and git (debootstrap, cached in $(B)/cache), as a directory for --rootfs DIR.
# run-host.sh hands $(B)/fixtures to the VM tests.
FS_FIXTURES := $(B)/fixtures/fs

$(B)/cache/fs-fixtures.stamp: tests/vm/fs-fixtures.sh tests/vm/debian-tree.sh $(B)/.deps
	sh tests/vm/fs-fixtures.sh $(FS_FIXTURES) $(B)/cache
	@touch $@

fs-fixtures: $(B)/cache/fs-fixtures.stamp

vm-test: fs-fixtures

.PHONY: fs-fixtures
