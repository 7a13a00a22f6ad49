# fuzz/fuzz.mk -- libFuzzer targets (fuzz/README.md). Included by the Makefile.
#
#   make fuzz            every target for FUZZ_SECONDS (default 300) each, one after the
#                        other; new inputs that add coverage are merged into fuzz/corpus/<name>,
#                        which is then minimized (fuzz/minimize.py, FUZZ_CORPUS_BYTES)
#   make fuzz-smoke      build every target, replay its corpus and fuzz it briefly
#                        (FUZZ_SMOKE_SECONDS each); any crash fails (part of make check)
#   make fuzz-<name>     one target for FUZZ_SECONDS (e.g. make fuzz-server FUZZ_SECONDS=3600)
#   make fuzz-build      only build (build/fuzz/fuzz_<name>)
#
# Crashes, leaks and timeouts are written to fuzz/crashes/<name>-* (not committed).
# Debian's clang 14 and its libFuzzer (libclang-rt-14-dev) build the C side with
# AddressSanitizer and UndefinedBehaviorSanitizer; the crate is built a second time, into
# build/fuzz/crate, with SanitizerCoverage so that libFuzzer sees its edges and comparisons,
# with panic=abort so that any panic is a crash, and with debug assertions and overflow checks
# in the crate itself (not in rustls, ring and webpki: rustls 0.20.8 has a debug assertion
# that hostile input trips, harmless in release builds; fuzz/README.md).
# The crate of `make` (ffi/target/release) stays as it is.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 12
FUZZ_ARGS ?=

FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_CRASHES := fuzz/crashes
FUZZ_CRATE_DIR := $(FUZZ_BUILD)/crate
FUZZ_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')
FUZZ_CRATE_LIB = $(FUZZ_CRATE_DIR)/$(FUZZ_TRIPLE)/release/libtlsr.a

# Targets on the C configuration parsers (module/*.c with APR, no httpd, no crate) ...
FUZZ_C_TARGETS := proto directives cache
# ... and on the crate through its C ABI.
FUZZ_CRATE_TARGETS := x509 pem crl server client handshake
FUZZ_TARGETS := $(FUZZ_C_TARGETS) $(FUZZ_CRATE_TARGETS)
FUZZ_BINS := $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_TARGETS))

FUZZ_SRC_proto := module/tls_proto.c
FUZZ_SRC_directives := module/tls_config.c module/tls_proto.c fuzz/httpd_stubs.c
FUZZ_SRC_cache := module/tls_cache.c module/tls_config.c module/tls_proto.c fuzz/httpd_stubs.c

FUZZ_CFLAGS := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -g -O1 \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -DFUZZ_DATA_DIR='"$(abspath fuzz/data)"' \
  -I$(shell $(APXS) -q INCLUDEDIR) $(shell apr-1-config --includes) -Imodule -Iffi/include -Ifuzz
FUZZ_APR_LIBS = $(shell apr-1-config --link-ld) $(shell apu-1-config --link-ld)

# SanitizerCoverage for rustc, as cargo-fuzz sets it up. --target keeps these flags off the
# build scripts (ring's), which are not linked with libFuzzer.
FUZZ_RUSTFLAGS := -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares -Cforce-frame-pointers=yes

.PHONY: fuzz fuzz-smoke fuzz-build $(addprefix fuzz-,$(FUZZ_TARGETS))

fuzz-build: $(FUZZ_BINS)

$(FUZZ_CRATE_LIB): ffi/Cargo.toml ffi/Cargo.lock $(wildcard ffi/src/*.rs) fuzz/fuzz.mk
	cd ffi && env CARGO_TARGET_DIR=$(abspath $(FUZZ_CRATE_DIR)) RUSTFLAGS="$(FUZZ_RUSTFLAGS)" \
	  CARGO_PROFILE_RELEASE_PANIC=abort $(CARGO) build --release --offline --locked \
	  --config 'profile.release.package.tlsr.debug-assertions=true' \
	  --config 'profile.release.package.tlsr.overflow-checks=true' --target $(FUZZ_TRIPLE)

define fuzz_c_target
$(FUZZ_BUILD)/fuzz_$(1): fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) fuzz/fuzz_common.c fuzz/fuzz_common.h \
    $(HDR)
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) fuzz/fuzz_common.c \
	  $$(FUZZ_APR_LIBS)
endef
define fuzz_crate_target
$(FUZZ_BUILD)/fuzz_$(1): fuzz/fuzz_$(1).c fuzz/fuzz_common.c fuzz/fuzz_common.h fuzz/fuzz_tls.c \
    fuzz/fuzz_tls.h ffi/include/tlsr.h $$(FUZZ_CRATE_LIB)
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ fuzz/fuzz_$(1).c fuzz/fuzz_common.c fuzz/fuzz_tls.c \
	  $$(FUZZ_CRATE_LIB) -lpthread -ldl -lm
endef
$(foreach t,$(FUZZ_C_TARGETS),$(eval $(call fuzz_c_target,$(t))))
$(foreach t,$(FUZZ_CRATE_TARGETS),$(eval $(call fuzz_crate_target,$(t))))

# fuzz_run NAME SECONDS SCRATCH: replays fuzz/corpus/NAME, then fuzzes; new inputs go to SCRATCH.
fuzz_run = mkdir -p $(3) $(FUZZ_CRASHES) fuzz/corpus/$(1) && \
  $(FUZZ_BUILD)/fuzz_$(1) -max_total_time=$(2) -timeout=25 -print_final_stats=1 \
    -artifact_prefix=$(FUZZ_CRASHES)/$(1)- \
    $$([ -f fuzz/dict/$(1).dict ] && echo -dict=fuzz/dict/$(1).dict) $(FUZZ_ARGS) \
    $(3) fuzz/corpus/$(1)

# The committed corpus of each target is kept to this many bytes (fuzz/minimize.py keeps the
# seeds and then the inputs that add the most edges per byte); more for the larger targets.
FUZZ_CORPUS_BYTES ?= 50000
FUZZ_CORPUS_BYTES_server ?= 100000
FUZZ_CORPUS_BYTES_client ?= 80000
FUZZ_CORPUS_BYTES_x509 ?= 80000
FUZZ_CORPUS_BYTES_pem ?= 80000

# make fuzz-NAME: fuzz, merge what adds coverage into the committed corpus, minimize it.
$(addprefix fuzz-,$(FUZZ_TARGETS)): fuzz-%: $(FUZZ_BUILD)/fuzz_%
	rm -rf $(FUZZ_BUILD)/new/$*
	$(call fuzz_run,$*,$(FUZZ_SECONDS),$(FUZZ_BUILD)/new/$*)
	$(FUZZ_BUILD)/fuzz_$* -merge=1 fuzz/corpus/$* $(FUZZ_BUILD)/new/$* 2>&1 | tail -n 1
	$(PYTHON) fuzz/minimize.py $* $(or $(FUZZ_CORPUS_BYTES_$*),$(FUZZ_CORPUS_BYTES))

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do $(MAKE) --no-print-directory fuzz-$$t || exit 1; done

fuzz-smoke: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf $(FUZZ_BUILD)/smoke/$$t; \
	  echo "fuzz-smoke: $$t"; \
	  ( $(call fuzz_run,$$t,$(FUZZ_SMOKE_SECONDS),$(FUZZ_BUILD)/smoke/$$t) ) \
	    > $(FUZZ_BUILD)/smoke-$$t.log 2>&1 \
	    || { tail -n 40 $(FUZZ_BUILD)/smoke-$$t.log; echo "fuzz-smoke: $$t failed"; exit 1; }; \
	  grep -E '^stat::number_of_executed_units' $(FUZZ_BUILD)/smoke-$$t.log; \
	done
	@echo "fuzz-smoke: every target ran without a crash"
