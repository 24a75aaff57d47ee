# --net user VM test fixtures (tests/vm/t_netuser.sh): the test internet's
# web root, with a git repository and a package index (net-fixtures.sh).
NET_FIXTURES := $(B)/fixtures/net

$(B)/cache/net-fixtures.stamp: tests/vm/net-fixtures.sh
	@mkdir -p $(B)/cache
	sh tests/vm/net-fixtures.sh $(NET_FIXTURES)
	@touch $@

net-fixtures: $(B)/cache/net-fixtures.stamp

vm-test: net-fixtures

.PHONY: net-fixtures
