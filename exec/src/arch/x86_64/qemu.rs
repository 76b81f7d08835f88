//! QEMU's `isa-debug-exit` device: writing `c` to port 0xf4 ends QEMU with status `(c << 1) | 1`.
//! The test harness maps 33 to success and everything else (0 is a triple fault) to failure.

use x86_64::instructions::port::Port;

const DEBUG_EXIT_PORT: u16 = 0xf4;

/// How the kernel wants QEMU to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// QEMU exits with status 33.
    Success = 0x10,
    /// QEMU exits with status 35.
    Failure = 0x11,
}

/// Ends QEMU. Without the debug-exit device (a plain `make run`) the write does nothing and the
/// CPU halts instead. May be called from an interrupt.
pub fn exit(code: ExitCode) -> ! {
    // SAFETY: port 0xf4 is QEMU's debug-exit device, or nothing at all.
    unsafe { Port::<u32>::new(DEBUG_EXIT_PORT).write(code as u32) };
    super::cpu::halt_forever()
}
