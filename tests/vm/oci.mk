# The container VM test's fixture (tests/vm/t_container.sh): Debian's crun
# with its libraries, and the OCI config Podman would use, in
# $(B)/fixtures/oci (tests/vm/oci-fixture.sh).
$(B)/fixtures/oci/config.json: tests/vm/oci-fixture.sh tests/vm/oci-config.py $(B)/.deps
	sh tests/vm/oci-fixture.sh $(B)/fixtures/oci $(B)/cache

oci-fixture: $(B)/fixtures/oci/config.json

vm-test: oci-fixture

.PHONY: oci-fixture
