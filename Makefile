# rkeepalived — build, test and run targets. Everything here runs as root on Debian.
CARGO ?= cargo
PREFIX ?= /usr/local
DESTDIR ?=
MUSL_TARGET := x86_64-unknown-linux-musl

.PHONY: all build release static test lint fmt bench fuzz demo install clean deps

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# One small static binary: target/x86_64-unknown-linux-musl/release/rkeepalived
static:
	rustup target add $(MUSL_TARGET)
	$(CARGO) build --release --target $(MUSL_TARGET)
	@ls -l target/$(MUSL_TARGET)/release/rkeepalived

# Every test: unit, config corpus, simulated LAN, and (as root) network namespaces and
# interop with Debian's keepalived. Root-only tests fail instead of skipping when CI is set.
test: build
	$(CARGO) test --no-fail-fast -- --test-threads=2

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# The seed's story live in throwaway network namespaces (never touches host interfaces).
demo: build
	bash scripts/demo.sh target/debug/rkeepalived

bench: release
	bash bench/run.sh

fuzz:
	cd fuzz && $(CARGO) +nightly fuzz run packet_parse -- -max_total_time=60

install: release
	install -D -m 0755 target/release/rkeepalived $(DESTDIR)$(PREFIX)/sbin/rkeepalived
	install -D -m 0644 systemd/rkeepalived.service $(DESTDIR)/lib/systemd/system/rkeepalived.service

# What .ci/run needs on a fresh Debian machine.
deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y iproute2 keepalived tshark tcpdump nginx-light procps psmisc musl-tools curl util-linux python3 iputils-ping hyperfine nftables
	rustup target add $(MUSL_TARGET)

clean:
	$(CARGO) clean
