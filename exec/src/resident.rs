//! Residents: the modules the kernel starts at boot (Exec's `struct Resident`, the ROM tags).
//!
//! Every library and device is a resident with a priority. The image lists them in one table;
//! [`init_residents`] starts them highest priority first, and [`residents`] lists them with
//! their versions (RESLIST in the shell).

use crate::list::NodeType;

/// A resident module.
pub struct Resident {
    pub name: &'static str,
    pub version: u16,
    /// Higher starts first.
    pub pri: i8,
    /// What it makes: a Library, a Device, or a task (Unknown).
    pub kind: NodeType,
    pub id_string: &'static str,
    /// Starts the module (adds its library or device). Runs in the boot task.
    pub init: fn(),
}

/// Most residents one image can carry.
pub const MAX_RESIDENTS: usize = 32;

/// The residents in the order they were started. Written once by init_residents.
static STARTED: spin::Once<([Option<&'static Resident>; MAX_RESIDENTS], usize)> = spin::Once::new();

/// Starts every resident of `table`, highest priority first (ties in table order); at most
/// [`MAX_RESIDENTS`]. Call once, at boot, from a task.
pub fn init_residents(table: &[&'static Resident]) {
    let mut sorted: [Option<&'static Resident>; MAX_RESIDENTS] = [None; MAX_RESIDENTS];
    let n = table.len().min(MAX_RESIDENTS);
    for (slot, r) in sorted.iter_mut().zip(table) {
        *slot = Some(r);
    }
    // Stable: equal priorities keep the table's order.
    sorted[..n].sort_by_key(|r| core::cmp::Reverse(r.map_or(i8::MIN, |r| r.pri)));
    STARTED.call_once(|| (sorted, n));
    for r in sorted[..n].iter().flatten() {
        (r.init)();
    }
}

/// The residents, in the order they were started.
pub fn residents() -> impl Iterator<Item = &'static Resident> {
    STARTED.get().into_iter().flat_map(|(list, n)| list[..*n].iter().flatten().copied())
}

fn init_exec() {
    // SAFETY: the static library base is added once, at boot, and never removed.
    unsafe { crate::library::add_library(crate::sys::EXEC_LIBRARY.get()) };
}

/// exec.library itself, first of all.
pub static EXEC_RESIDENT: Resident = Resident {
    name: "exec.library",
    version: crate::sys::EXEC_VERSION,
    pri: 126,
    kind: NodeType::Library,
    id_string: "exec 1.0 (23.11.2026)",
    init: init_exec,
};
