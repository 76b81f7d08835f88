#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and boot Lorraine: the pinned Rust toolchain's
# x86_64-unknown-none target and clippy, and QEMU (apt-get as root; otherwise says what to
# install).
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! command -v rustup >/dev/null; then
    echo "Lorraine needs rustup (https://rustup.rs) to install Rust $toolchain." >&2
    exit 1
fi
if ! rustup toolchain list | grep -q "^$toolchain"; then
    echo "Installing Rust $toolchain ..."
    rustup toolchain install "$toolchain" --no-self-update --profile minimal
fi
if ! rustup component list --installed --toolchain "$toolchain" | grep -q '^clippy'; then
    echo "Installing clippy (make test runs it) ..."
    rustup component add --toolchain "$toolchain" clippy
fi
if ! rustup target list --installed --toolchain "$toolchain" | grep -qx x86_64-unknown-none; then
    echo "Installing the Rust target x86_64-unknown-none ..."
    rustup target add --toolchain "$toolchain" x86_64-unknown-none
fi

if ! command -v qemu-system-x86_64 >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing QEMU (qemu-system-x86) ..."
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 >/dev/null
    else
        echo "Lorraine needs QEMU: install it with 'sudo apt-get install qemu-system-x86'" >&2
        echo "(or your system's qemu-system-x86_64 package), then run make again." >&2
        exit 1
    fi
fi
