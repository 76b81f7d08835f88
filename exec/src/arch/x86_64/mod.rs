//! The x86_64 PC: boot trampoline, descriptor tables, trap entry, interrupt controllers, timers,
//! the COM1 UART, and QEMU's debug-exit port.
//!
//! All assembly and all port I/O of Lorraine lives below this directory.

pub mod cpu;
pub mod gdt;
pub mod idt;
pub mod lapic;
pub mod pic;
pub mod pit;
pub mod probe;
pub mod pvh;
pub mod qemu;
pub mod rtc;
pub mod serial;
pub mod switch;
pub mod trap;
#[cfg(feature = "mmu")]
pub mod usermode;

mod boot;

pub use boot::{boot_stack, entry_text, kernel_image, text_and_rodata};
