//! COM1, polled: the console that boot messages, tests and Guru Meditations are written to.
//! (serial.device drives the same UART by interrupts once exec runs.)

use uart_16550::Uart16550;
use uart_16550::backend::PioBackend;
use uart_16550::{BaudRate, Config};

const COM1: u16 = 0x3f8;

/// The UART, `None` until [`init`] found one. Guarded by its spin lock, always taken with
/// interrupts disabled so that an interrupt handler printing on this CPU cannot deadlock.
static UART: spin::Mutex<Option<Uart16550<PioBackend>>> = spin::Mutex::new(None);

/// Programs COM1 (115200 8N1, FIFOs on, no interrupts). Returns false if no UART answers.
pub fn init() -> bool {
    // SAFETY: 0x3f8..0x3ff are COM1's registers on every PC machine; nothing else uses them.
    let Ok(mut uart) = (unsafe { Uart16550::new_port(COM1) }) else { return false };
    let config = Config { baud_rate: BaudRate::Baud115200, ..Config::DEFAULT };
    if uart.init(config).is_err() {
        return false;
    }
    super::cpu::without_interrupts(|| *UART.lock() = Some(uart));
    true
}

/// Runs `f` with exclusive use of the transmitter: `f` gets a function that sends bytes as they
/// are. Interrupts stay disabled meanwhile, so a whole message goes out in one piece.
pub fn with_transmitter<R>(f: impl FnOnce(&mut dyn FnMut(&[u8])) -> R) -> R {
    super::cpu::without_interrupts(|| {
        let mut guard = UART.lock();
        let mut send = |bytes: &[u8]| {
            if let Some(uart) = guard.as_mut() {
                uart.send_bytes_exact(bytes);
            }
        };
        f(&mut send)
    })
}

/// Takes the UART even if its lock is held: for the last words of a dying system (a Guru
/// Meditation raised while the interrupted code was printing). Interrupts must be off.
pub fn write_emergency(bytes: &[u8]) {
    if UART.is_locked() {
        // SAFETY: we are about to halt or exit; the interrupted holder never runs again, so
        // breaking its lock cannot let two writers interleave for longer than this message.
        unsafe { UART.force_unlock() };
    }
    if let Some(uart) = UART.lock().as_mut() {
        uart.send_bytes_exact(bytes);
    }
}

/// Reads one received byte, if any (polling; used before serial.device takes over).
pub fn try_read() -> Option<u8> {
    super::cpu::without_interrupts(|| UART.lock().as_mut().and_then(|u| u.try_receive_byte().ok()))
}
