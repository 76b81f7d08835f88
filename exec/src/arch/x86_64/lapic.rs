//! Just enough of the local APIC to let the PIC's interrupts through.
//!
//! With qboot firmware (QEMU's `microvm`, or `-bios qboot.rom`) the LAPIC starts with LINT0
//! masked, so PIC interrupts never reach the CPU. Enabling the LAPIC and setting LINT0 to ExtINT
//! (and LINT1 to NMI, as on a PC) makes every machine behave like SeaBIOS leaves it.

use x86_64::registers::model_specific::Msr;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_GLOBAL_ENABLE: u64 = 1 << 11;
const SVR: usize = 0xf0;
const LVT_LINT0: usize = 0x350;
const LVT_LINT1: usize = 0x360;
const SVR_ENABLE: u32 = 1 << 8;
const DELIVERY_EXTINT: u32 = 0b111 << 8;
const DELIVERY_NMI: u32 = 0b100 << 8;

/// Enables the LAPIC in virtual-wire mode. Does nothing on a CPU without one.
pub fn init_virtual_wire() {
    if !super::cpu::features().apic {
        return;
    }
    let mut msr = Msr::new(IA32_APIC_BASE);
    // SAFETY: the CPU has an APIC (CPUID), so IA32_APIC_BASE exists; setting the global enable
    // bit keeps the base address.
    let base = unsafe {
        let v = msr.read() | APIC_GLOBAL_ENABLE;
        msr.write(v);
        v & 0x000f_ffff_ffff_f000
    };
    let reg = |off: usize| (base as usize + off) as *mut u32;
    // SAFETY: the LAPIC page lies below 4 GiB, identity-mapped by the boot page tables; these
    // are its documented 32-bit registers, accessed with volatile 32-bit writes.
    unsafe {
        reg(SVR).write_volatile(SVR_ENABLE | super::trap::SPURIOUS_VECTOR as u32);
        reg(LVT_LINT0).write_volatile(DELIVERY_EXTINT);
        reg(LVT_LINT1).write_volatile(DELIVERY_NMI);
    }
}
