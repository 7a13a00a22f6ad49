# mod_tls -- memory-safe TLS for Apache httpd, on rustls.
#
#   make run      install what is missing, build, serve https://localhost:8443/ (Ctrl-C stops)
#   make check    every test: crate unit tests, build checks, integration tests with apache2,
#                 the benchmark's smoke run
#   make bench    mod_tls against mod_ssl, about 8 minutes (docs/performance.md)
#   make fuzz     every libFuzzer target for FUZZ_SECONDS each (fuzz/README.md)
#   make          build build/mod_tls.so
#   make install / uninstall    into Debian's apache2 (a2enmod tls afterwards)

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

LIBEXECDIR = $(shell $(APXS) -q LIBEXECDIR)
SYSCONFDIR = $(shell $(APXS) -q SYSCONFDIR)

.PHONY: all deps run check check-crate check-debian-toolchain check-build check-unit test install uninstall clean \
        bench bench-smoke

all: $(MODULE)

deps:
	@scripts/deps

$(CRATE_LIB): ffi/Cargo.toml ffi/Cargo.lock $(wildcard ffi/src/*.rs)
	cd ffi && $(CARGO) build --release --offline --locked

# apxs compiles the module; the crate's static library is linked in, and the version script
# keeps every symbol but tls_module out of the exports (ours and the crate's).
$(MODULE): $(SRC) $(HDR) $(CRATE_LIB) module/mod_tls.map
	@mkdir -p $(BUILD)
	$(APXS) -c -o $(BUILD)/mod_tls.la -Iffi/include $(addprefix -Wc$(,),$(CWARN)) \
	  -Wl,-Wl$(,)--version-script=module/mod_tls.map \
	  $(SRC) $(CRATE_LIB) -lpthread -ldl -lm 2>&1 | tee $(BUILD)/compile.log
	cp $(BUILD)/.libs/mod_tls.so $(MODULE)

, := ,

run: deps all
	scripts/run

# mod_tls against mod_ssl (bench/bench.py): results, table and chart in bench/results/.
# The full run is not part of check; its smoke mode (every scenario once, briefly, in
# parallel: each must run and pass verification against both modules) is.
bench: deps all
	@scripts/deps --bench
	$(PYTHON) bench/bench.py

bench-smoke: deps all
	$(PYTHON) bench/bench.py --smoke

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

# The crate also builds with Debian's own cargo 1.65 / rustc 1.63 (PATH: cargo runs the first
# rustc it finds, which may be a newer one).
check-debian-toolchain:
	@if [ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ]; then \
	  cd ffi && env PATH=/usr/bin:/bin CARGO_TARGET_DIR=target/debian-toolchain \
	    /usr/bin/cargo build --release --offline --locked; \
	else echo "Debian's cargo is not installed (scripts/deps installs it)"; exit 1; fi

test: $(MODULE)
	$(PYTHON) -m pytest -p no:cacheprovider -q tests $(PYTEST_ARGS)

install: $(MODULE)
	install -D -m 644 $(MODULE) $(DESTDIR)$(LIBEXECDIR)/mod_tls.so
	install -D -m 644 conf/tls.load $(DESTDIR)$(SYSCONFDIR)/mods-available/tls.load
	install -D -m 644 conf/tls.conf $(DESTDIR)$(SYSCONFDIR)/mods-available/tls.conf

uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -e $(SYSCONFDIR)/mods-enabled/tls.load ]; then a2dismod -q -f tls; fi
	rm -f $(DESTDIR)$(LIBEXECDIR)/mod_tls.so $(DESTDIR)$(SYSCONFDIR)/mods-available/tls.load \
	  $(DESTDIR)$(SYSCONFDIR)/mods-available/tls.conf

include fuzz/fuzz.mk

clean:
	rm -rf $(BUILD) module/*.lo module/*.slo module/*.o module/.libs ffi/target
