//! COM1, polled: the console that boot messages, tests and Guru Meditations are written to.
//! (serial.device drives the same UART by interrupts once exec runs.)

use uart_16550::Uart16550;
use uart_16550::backend::{Backend, PioBackend};
use uart_16550::spec::registers::{IER, LSR, MCR, offsets};
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

/// IRQ line of COM1.
pub const COM1_IRQ: u8 = 4;

/// Turns COM1's receive interrupt and its transmitter-empty interrupt on or off.
pub fn set_interrupts(rx: bool, tx: bool) {
    super::cpu::without_interrupts(|| {
        if let Some(uart) = UART.lock().as_mut() {
            let (on, off) = (
                if rx { IER::DATA_READY } else { IER::empty() } | if tx { IER::THR_EMPTY } else { IER::empty() },
                if rx { IER::empty() } else { IER::DATA_READY } | if tx { IER::empty() } else { IER::THR_EMPTY },
            );
            uart.disable_interrupts(off);
            uart.enable_interrupts(on);
        }
    });
}

/// Hands bytes waiting in the receive FIFO to `f`, at most `max` of them. Result: whether the
/// UART reported an overrun (bytes lost in hardware), and whether bytes are still waiting
/// (left in the FIFO, where the sender is held back). For COM1's interrupt handler.
pub fn drain_rx(max: usize, mut f: impl FnMut(u8)) -> (bool, bool) {
    super::cpu::without_interrupts(|| {
        let mut guard = UART.lock();
        let Some(uart) = guard.as_mut() else { return (false, false) };
        let overrun = uart.lsr().contains(LSR::OVERRUN_ERROR);
        let mut taken = 0;
        while taken < max {
            let Ok(b) = uart.try_receive_byte() else { break };
            f(b);
            taken += 1;
        }
        (overrun, uart.lsr().contains(LSR::DATA_READY))
    })
}

/// Asserts or deasserts RTS (request to send): with it off, a sender that honours hardware
/// flow control holds its bytes back.
pub fn set_rts(on: bool) {
    super::cpu::without_interrupts(|| {
        if let Some(uart) = UART.lock().as_mut() {
            let mcr = if on { uart.mcr() | MCR::RTS } else { uart.mcr() - MCR::RTS };
            // SAFETY: MCR is COM1's modem control register; only RTS changes.
            unsafe { uart.backend_mut().write(offsets::MCR as u8, mcr.bits()) };
        }
    });
}

/// Writes as many of `bytes` as the transmitter takes now; returns how many.
pub fn send_some(bytes: &[u8]) -> usize {
    super::cpu::without_interrupts(|| UART.lock().as_mut().map_or(0, |u| u.send_bytes(bytes)))
}
