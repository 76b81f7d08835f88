//! The DOS handlers of the mmu build: RAM:, NIL: and CON: in ring 3, each in an address space of its
//! own (their code is `libraries::handlers`), so that every file operation crosses protection
//! twice: the client's packet into the handler's memory, and the answer back.

use exec::memory::MemFlags;

/// RAM:'s heap: an eighth of exec memory at boot, at least 1 MiB and at most 16 MiB (within a
/// ring-3 family's quota). Its disk is half of it: the rest is room for its records and for
/// the growth of its files' buffers.
fn ram_heap() -> usize {
    (exec::memory::avail_mem(MemFlags::ANY) / 8).clamp(1 << 20, 16 << 20)
}

/// Starts RAM:, NIL:, CON: and the DOS server (the list of assigns) in ring 3.
pub fn start_handlers() {
    let heap = ram_heap();
    let ram = crate::user::add_user_task_with_heap("RAM", 0, libraries::handlers::ram::entry_ring3, (heap / 2) as u64, heap);
    let nil = crate::user::add_user_task("NIL", 0, libraries::handlers::nil::entry_ring3, 0);
    let con = crate::user::add_user_task("CON", 0, libraries::handlers::con::entry_ring3, 0);
    let list = crate::user::add_user_task("dos.list", 0, libraries::dos::server::entry_ring3, 0);
    if ram.is_null() || nil.is_null() || con.is_null() || list.is_null() {
        exec::kprintln!("DOS: a handler did not start");
    }
}
