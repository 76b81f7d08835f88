//! The kernel console on COM1: `kprint!` and `kprintln!` for boot messages, tests and alerts.
//! Line feeds become CR LF, as a terminal wants.

use core::fmt::{self, Write};

use crate::arch::x86_64::serial;

/// Brings up COM1. Output before this is lost; there is nothing earlier to say.
pub fn init() {
    serial::init();
}

struct Crlf<'a>(&'a mut dyn FnMut(&[u8]));

impl Write for Crlf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for (i, line) in s.split('\n').enumerate() {
            if i > 0 {
                (self.0)(b"\r\n");
            }
            (self.0)(line.as_bytes());
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    serial::with_transmitter(|send| {
        let _ = Crlf(send).write_fmt(args);
    });
}

/// The console as a `fmt::Write`, for output built piece by piece without a buffer.
pub struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        _print(format_args!("{s}"));
        Ok(())
    }
}

/// Writes `text` even if the console lock is held by code that will never run again.
/// For alerts only. Interrupts must be disabled.
pub fn print_emergency(text: &str) {
    let mut send = |b: &[u8]| serial::write_emergency(b);
    let _ = Crlf(&mut send).write_str(text);
}

/// Prints to the serial console. May be called from an interrupt.
#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => { $crate::console::_print(format_args!($($arg)*)) };
}

/// Prints a line to the serial console. May be called from an interrupt.
#[macro_export]
macro_rules! kprintln {
    () => { $crate::kprint!("\n") };
    ($($arg:tt)*) => { $crate::console::_print(format_args!("{}\n", format_args!($($arg)*))) };
}
