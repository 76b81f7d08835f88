//! The two 8259 PICs, remapped to vectors 32..47 so they don't collide with CPU exceptions.

use x86_64::instructions::port::Port;

use super::trap::IRQ_BASE;

const PIC1_CMD: u16 = 0x20;
const PIC1_DATA: u16 = 0x21;
const PIC2_CMD: u16 = 0xa0;
const PIC2_DATA: u16 = 0xa1;
const EOI: u8 = 0x20;
const READ_ISR: u8 = 0x0b;

fn out(port: u16, v: u8) {
    // SAFETY: the PIC ports exist on every PC machine QEMU models; writes follow the 8259 protocol.
    unsafe { Port::<u8>::new(port).write(v) }
}

fn inb(port: u16) -> u8 {
    // SAFETY: as above; reading the PIC has no side effects beyond the selected register.
    unsafe { Port::<u8>::new(port).read() }
}

/// Remaps both PICs and masks every line; [`unmask`] opens lines one by one.
pub fn init() {
    out(PIC1_CMD, 0x11); // ICW1: init, ICW4 follows
    out(PIC2_CMD, 0x11);
    out(PIC1_DATA, IRQ_BASE); // ICW2: vector base
    out(PIC2_DATA, IRQ_BASE + 8);
    out(PIC1_DATA, 4); // ICW3: slave on IRQ2
    out(PIC2_DATA, 2);
    out(PIC1_DATA, 0x01); // ICW4: 8086 mode
    out(PIC2_DATA, 0x01);
    out(PIC1_DATA, !(1 << 2)); // all masked but the cascade
    out(PIC2_DATA, 0xff);
}

/// Lets IRQ `irq` (0..15) through.
pub fn unmask(irq: u8) {
    let port = if irq < 8 { PIC1_DATA } else { PIC2_DATA };
    let bit = irq % 8;
    out(port, inb(port) & !(1 << bit));
}

/// Blocks IRQ `irq` (0..15).
pub fn mask(irq: u8) {
    let port = if irq < 8 { PIC1_DATA } else { PIC2_DATA };
    out(port, inb(port) | 1 << (irq % 8));
}

/// The mask register of both PICs, PIC2 in the high byte.
pub fn masks() -> u16 {
    inb(PIC1_DATA) as u16 | (inb(PIC2_DATA) as u16) << 8
}

/// IRQ 7 and 15 also fire spuriously; a real one has its in-service bit set. A spurious IRQ 15
/// still needs an EOI on the master, which this sends.
pub fn is_spurious(irq: u8) -> bool {
    let in_service = |cmd: u16| {
        out(cmd, READ_ISR);
        inb(cmd) & 0x80 != 0
    };
    match irq {
        7 => !in_service(PIC1_CMD),
        15 if !in_service(PIC2_CMD) => {
            out(PIC1_CMD, EOI);
            true
        }
        _ => false,
    }
}

/// Acknowledges IRQ `irq`.
pub fn end_of_interrupt(irq: u8) {
    if irq >= 8 {
        out(PIC2_CMD, EOI);
    }
    out(PIC1_CMD, EOI);
}
