#!/usr/bin/env bash
# `make test`: every layer of tests, in both builds, then one closing line.
#   1. host unit tests (cargo test) of the pure-logic crates, without and with the mmu feature;
#   2. the in-kernel suite of each image, booted under QEMU (TCG), and mmu-mode's tests again
#      under -cpu max (SMEP and SMAP on);
#   3. the end-to-end harness (cargo test -p lorraine-tests), which boots both images;
#   4. clippy, warnings as errors: the host crates with their tests, and the kernel image in
#      both builds (the lints every crate denies are in Cargo.toml's [workspace.lints]).
# Each layer prints its own `N passed, N failed, N skipped`; the last line adds them up. A
# skipped test (an in-kernel test whose subject the CPU lacks) is neither a pass nor a failure.
set -uo pipefail
cd "$(dirname "$0")/.."

total_pass=0
total_fail=0
total_skip=0
failed_layers=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Adds up cargo's "test result: ... N passed; M failed" lines from $log (cargo skips nothing:
# its "ignored" tests are not run by these layers).
count_cargo() {
    awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
         END { printf "%d %d 0\n", p, f }' "$log"
}

# One check per clippy run: passed when it finds nothing, failed otherwise (`rc` is the
# calling layer's exit status).
count_clippy() {
    if [ "$rc" -eq 0 ]; then echo "1 0 0"; else echo "0 1 0"; fi
}

layer() { # name, counting function, command...
    local name=$1 counter=$2
    shift 2
    echo "=== $name"
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    read -r p f s < <($counter)
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "--- $name: $p passed, $f failed, $s skipped"
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    total_skip=$((total_skip + s))
    [ "$f" -eq 0 ] || failed_layers+=("$name")
}

# The runner's closing `in-kernel (mode): N passed, N failed[, N skipped]`.
count_ktest() {
    awk '/^in-kernel \([a-z]*\): [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/ { p = $3; f = $5; s = (NF >= 8) ? $7 : 0; n = 1 }
         END { if (n) printf "%d %d %d\n", p, f, s; else print "0 1 0" }' "$log"
}

echo "=== building both kernel images"
if ! make --no-print-directory images; then
    echo "build failed"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
export LORRAINE_IMAGE_FLAT=$PWD/target/lorraine-flat.elf
export LORRAINE_IMAGE_MMU=$PWD/target/lorraine-mmu.elf

HOST_CRATES=(-p exec -p devices -p libraries -p workbench-shell -p mmu-mode)
layer "host unit tests (flat)" count_cargo cargo test -q "${HOST_CRATES[@]}" -p lorraine-tests --lib
layer "host unit tests (mmu)" count_cargo cargo test -q "${HOST_CRATES[@]}" --features mmu
cargo build -q -p lorraine-tests --bins
for mode in flat mmu; do
    layer "in-kernel tests ($mode)" count_ktest target/debug/ktest "$mode" test
done
# mmu-mode's own tests again on a CPU with SMEP and SMAP (TCG's -cpu max), which the default
# CPU lacks: the kernel must not run user code or touch user pages unawares there either.
layer "in-kernel tests (mmu, -cpu max)" count_ktest env QEMUFLAGS="${QEMUFLAGS:-} -cpu max" target/debug/ktest mmu test=mmu.
layer "end-to-end tests (both builds)" count_cargo cargo test -q -p lorraine-tests --test '*' -- --test-threads=1
layer "clippy (host crates and their tests)" count_clippy cargo clippy -q --all-targets -- -D warnings
layer "clippy (host crates, mmu feature)" count_clippy cargo clippy -q --all-targets "${HOST_CRATES[@]}" --features mmu -- -D warnings
layer "clippy (kernel, flat)" count_clippy cargo clippy -q --release --target x86_64-unknown-none -p lorraine -- -D warnings
layer "clippy (kernel, mmu)" count_clippy cargo clippy -q --release --target x86_64-unknown-none -p lorraine --features mmu -- -D warnings

echo
if [ ${#failed_layers[@]} -gt 0 ]; then
    echo "FAILED layers: ${failed_layers[*]}"
fi
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
