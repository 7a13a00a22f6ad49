# mod_tls -- memory-safe TLS for Apache httpd, on rustls.
#
#   make run      install what is missing, build, serve https://localhost:8443/ (Ctrl-C stops)
#   make check    every test: crate unit tests, build checks, integration tests with apache2,
#                 the benchmark's smoke run
#   make check-asan   the integration tests again, against build-asan/mod_tls.so built with
#                 AddressSanitizer + UBSan (tests/README.md, "Sanitizers")
#   make bench    mod_tls against mod_ssl, about 8 minutes (docs/performance.md)
#   make fuzz     every libFuzzer target for FUZZ_SECONDS each (fuzz/README.md)
#   make          build build/mod_tls.so
#   make install / uninstall    into Debian's apache2 (a2enmod tls afterwards)
#   make deb      the Debian package, build/deb/libapache2-mod-tls_<version>_<arch>.deb

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec

APXS ?= apxs
CARGO ?= cargo
PYTHON ?= /usr/bin/python3
PYTEST_ARGS ?=

BUILD := build
CRATE_LIB := ffi/target/release/libtlsr.a
MODULE := $(BUILD)/mod_tls.so
SRC := $(wildcard module/*.c)
HDR := $(wildcard module/*.h) ffi/include/tlsr.h
CWARN := -std=c11 -Wall -Wextra
# A distribution build's own flags (debian/rules passes dpkg-buildflags' CFLAGS/LDFLAGS, and a
# --remap-path-prefix so that the build directory is in no built file); empty otherwise.
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=
CRATE_RUSTFLAGS ?=

LIBEXECDIR = $(shell $(APXS) -q LIBEXECDIR)
SYSCONFDIR = $(shell $(APXS) -q SYSCONFDIR)

.PHONY: all deps run check check-crate check-debian-toolchain check-build check-unit test install uninstall clean \
        bench bench-smoke

all: $(MODULE)

deps:
	@scripts/deps

$(CRATE_LIB): ffi/Cargo.toml ffi/Cargo.lock $(wildcard ffi/src/*.rs)
	cd ffi && $(if $(CRATE_RUSTFLAGS),RUSTFLAGS="$(CRATE_RUSTFLAGS)") $(CARGO) build --release \
	  --offline --locked

# apxs compiles the module; the crate's static library is linked in, and the version script
# keeps every symbol but tls_module out of the exports (ours and the crate's).
$(MODULE): $(SRC) $(HDR) $(CRATE_LIB) module/mod_tls.map
	@mkdir -p $(BUILD)
	$(APXS) -c -o $(BUILD)/mod_tls.la -Iffi/include $(addprefix -Wc$(,),$(CWARN) $(EXTRA_CFLAGS)) \
	  -Wl,-Wl$(,)--version-script=module/mod_tls.map $(addprefix -Wl$(,),$(EXTRA_LDFLAGS)) \
	  $(SRC) $(CRATE_LIB) -lpthread -ldl -lm 2>&1 | tee $(BUILD)/compile.log
	cp $(BUILD)/.libs/mod_tls.so $(MODULE)

, := ,

run: deps all
	scripts/run

# mod_tls against mod_ssl (bench/bench.py): results, table and chart in bench/results/; then
# the time to the first byte of clients with and without TCP_NODELAY (bench/latency.py).
# The full run is not part of check; its smoke mode (every scenario once, briefly, in
# parallel: each must run and pass verification against both modules) is.
bench: deps all
	@scripts/deps --bench
	$(PYTHON) bench/bench.py
	$(PYTHON) bench/latency.py

bench-smoke: deps all
	$(PYTHON) bench/bench.py --smoke
	$(PYTHON) bench/latency.py --smoke

check: deps all check-build check-unit check-crate check-debian-toolchain test bench-smoke \
       fuzz-smoke

# The module compiles without warnings and exports only tls_module.
check-build: $(MODULE)
	@if grep -E 'warning:' $(BUILD)/compile.log; then echo "compiler warnings (see above)"; exit 1; fi
	@exports=$$(nm -D --defined-only $(MODULE) | awk '$$2 ~ /^[A-Z]$$/ {print $$3}' | sort -u); \
	 if [ "$$exports" != "tls_module" ]; then echo "mod_tls.so exports more than tls_module:"; echo "$$exports" | head; exit 1; fi
	@echo "check-build: no warnings; exports: tls_module"

# C unit tests of module parts that need no running httpd (tests/unit/).
UNIT_CFLAGS = -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I$(shell $(APXS) -q INCLUDEDIR) \
  $(shell apr-1-config --includes) -Imodule -Iffi/include
check-unit: $(BUILD)/test_config
	$(BUILD)/test_config
$(BUILD)/test_config: tests/unit/test_config.c module/tls_config.c module/tls_proto.c $(HDR)
	@mkdir -p $(BUILD)
	$(CC) $(UNIT_CFLAGS) -o $@ tests/unit/test_config.c module/tls_config.c module/tls_proto.c \
	  $(shell apr-1-config --link-ld) $(shell apu-1-config --link-ld)

check-crate:
	cd ffi && $(CARGO) test --offline --locked

# The crate (and the module) also build with Debian's own cargo 1.65 / rustc 1.63: the package
# build (make deb) uses exactly those, from PATH=/usr/bin, as a buildd would.
check-debian-toolchain: deb
	@grep -q '^cd ffi && \(RUSTFLAGS=[^ ]* \)\?/usr/bin/cargo build' $(DEB_DIR)/build.log
	@echo "check-debian-toolchain: the package was built with $$(/usr/bin/rustc --version)"

test: $(MODULE)
	$(PYTHON) -m pytest -p no:cacheprovider -q tests $(PYTEST_ARGS)

# make check-asan: the module and the C unit tests again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/ (build/ is not touched), and the whole
# integration suite against that module. The harness sees that the module needs the ASan
# runtime and starts apache2 with it preloaded; a sanitizer report fails the test
# (tests/README.md, "Sanitizers"). The crate is the same release libtlsr.a: its C ABI is
# exercised from the instrumented C side. libtool writes its objects next to the sources,
# so apxs compiles symlinks to them in build-asan/module/.
ASAN_BUILD := build-asan
ASAN_MODULE := $(ASAN_BUILD)/mod_tls.so
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  -fno-omit-frame-pointer -g -O1 -U_FORTIFY_SOURCE

.PHONY: check-asan check-asan-unit asan
asan: $(ASAN_MODULE) $(ASAN_BUILD)/test_config

check-asan: deps all asan check-asan-unit
	MOD_TLS_SO=$(CURDIR)/$(ASAN_MODULE) MOD_TLS_SANITIZE=1 \
	  $(PYTHON) -m pytest -p no:cacheprovider -q tests $(PYTEST_ARGS)

$(ASAN_MODULE): $(SRC) $(HDR) $(CRATE_LIB) module/mod_tls.map
	rm -rf $(ASAN_BUILD)/module && mkdir -p $(ASAN_BUILD)/module
	ln -s $(abspath $(SRC) $(wildcard module/*.h)) $(ASAN_BUILD)/module/
	$(APXS) -c -o $(ASAN_BUILD)/mod_tls.la -Iffi/include \
	  $(addprefix -Wc$(,),$(CWARN) $(SANITIZE)) -Wl,-fsanitize=address$(,)undefined \
	  -Wl,-Wl$(,)--version-script=module/mod_tls.map \
	  $(addprefix $(ASAN_BUILD)/,$(SRC)) $(CRATE_LIB) -lpthread -ldl -lm \
	  2>&1 | tee $(ASAN_BUILD)/compile.log
	@if grep -E 'warning:' $(ASAN_BUILD)/compile.log; then echo "compiler warnings (see above)"; exit 1; fi
	cp $(ASAN_BUILD)/.libs/mod_tls.so $(ASAN_MODULE)

# The unit tests under the sanitizers; LeakSanitizer on (a short-lived program that tears its
# pools down: a leak is a real one).
check-asan-unit: $(ASAN_BUILD)/test_config
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(ASAN_BUILD)/test_config
$(ASAN_BUILD)/test_config: tests/unit/test_config.c module/tls_config.c module/tls_proto.c $(HDR)
	@mkdir -p $(ASAN_BUILD)
	$(CC) $(UNIT_CFLAGS) $(SANITIZE) -o $@ tests/unit/test_config.c module/tls_config.c \
	  module/tls_proto.c $(shell apr-1-config --link-ld) $(shell apu-1-config --link-ld)

# The Debian package (debian/, docs/debian-package.md): dpkg-buildpackage -b in a copy of the
# sources under build/deb/, so that the package build (Debian's cargo and rustc, as on a buildd)
# neither uses nor disturbs this tree's build products. The .deb, its -dbgsym .deb, .changes,
# .buildinfo, the build log and lintian's report (-I, failing on errors) land in build/deb/.
DEB_DIR := $(BUILD)/deb
DEB_VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
DEB := $(DEB_DIR)/libapache2-mod-tls_$(DEB_VERSION)_$(shell dpkg --print-architecture).deb
DEB_SOURCES := Makefile README.md .cargo conf debian docs ffi module
.PHONY: deb
deb: $(DEB)
$(DEB): $(shell find $(DEB_SOURCES) -path ffi/target -prune -o -type f -print)
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	tar -c --exclude=ffi/target $(DEB_SOURCES) | tar -x -C $(DEB_DIR)/src
	@echo "dpkg-buildpackage -b -us -uc (log: $(DEB_DIR)/build.log)"
	@cd $(DEB_DIR)/src && if ! dpkg-buildpackage -b -us -uc >../build.log 2>&1; then \
	  tail -n 40 ../build.log; echo "make deb: dpkg-buildpackage failed (see $(DEB_DIR)/build.log)"; exit 1; fi
	scripts/deb-build-path $(DEB_DIR) $(abspath $(DEB_DIR)/src)
	rm -rf $(DEB_DIR)/src
	@echo "lintian -I (report: $(DEB_DIR)/lintian.txt)"
	@if ! lintian -I --fail-on error $(DEB_DIR)/*.changes >$(DEB_DIR)/lintian.txt 2>&1; then \
	  cat $(DEB_DIR)/lintian.txt; rm -f $@; echo "make deb: lintian reports errors"; exit 1; fi
	@cat $(DEB_DIR)/lintian.txt
	@ls -l $@

install: $(MODULE)
	install -D -m 644 $(MODULE) $(DESTDIR)$(LIBEXECDIR)/mod_tls.so
	install -D -m 644 conf/tls.load $(DESTDIR)$(SYSCONFDIR)/mods-available/tls.load
	install -D -m 644 conf/tls.conf $(DESTDIR)$(SYSCONFDIR)/mods-available/tls.conf

uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -e $(SYSCONFDIR)/mods-enabled/tls.load ]; then a2dismod -q -f tls; fi
	rm -f $(DESTDIR)$(LIBEXECDIR)/mod_tls.so $(DESTDIR)$(SYSCONFDIR)/mods-available/tls.load \
	  $(DESTDIR)$(SYSCONFDIR)/mods-available/tls.conf

# fuzz/ is not part of the package sources (make deb): hence -include
-include fuzz/fuzz.mk

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) module/*.lo module/*.slo module/*.o module/.libs ffi/target
