# Lorraine: `make run` boots the kernel with the serial console as your terminal,
# `make test` runs every test in both builds. MMU=1 selects mmu-mode. QEMUFLAGS="..." is
# appended to every QEMU command line (run, debug, and the test harness).

MMU ?= 0
MODE := $(if $(filter 1,$(MMU)),mmu,flat)
FEATURES := $(if $(filter 1,$(MMU)),--features mmu,)
TARGET := x86_64-unknown-none
IMAGE := target/lorraine-$(MODE).elf
QEMU ?= qemu-system-x86_64
APPEND ?=
QEMU_ARGS = -kernel $(IMAGE) -display none -serial mon:stdio \
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 $(QEMUFLAGS)

.PHONY: run test bench debug image images tools clean

run: image
	@echo "Lorraine ($(MODE)) -- leave QEMU with Ctrl-A then X"
	@$(QEMU) $(QEMU_ARGS) $(if $(APPEND),-append "$(APPEND)") || [ $$? -eq 33 ]

debug: image
	@echo "QEMU waits for gdb on :1234. In another terminal:"
	@echo "  gdb $(IMAGE) -ex 'target remote :1234' -ex 'break lorraine_main' -ex continue"
	@$(QEMU) $(QEMU_ARGS) $(if $(APPEND),-append "$(APPEND)") -s -S || [ $$? -eq 33 ]

test: tools
	@bash tests/run-all.sh

# Benchmarks of both builds and the Linux reference; ACCEL=kvm for real cycles where the
# machine has hardware virtualisation (default: TCG, figures in guest instructions).
bench: tools images
	@BENCH_ACCEL=$(or $(ACCEL),tcg) cargo run -q --release -p lorraine-tests --bin bench

# The kernel image of the selected mode, copied to target/lorraine-<mode>.elf.
image: tools
	cargo build --release --target $(TARGET) -p lorraine $(FEATURES)
	@cp target/$(TARGET)/release/lorraine $(IMAGE)

images:
	@$(MAKE) --no-print-directory image MMU=0
	@$(MAKE) --no-print-directory image MMU=1

tools:
	@bash .ci/ensure-tools.sh

clean:
	cargo clean
