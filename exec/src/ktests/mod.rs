//! exec's in-kernel tests (see `ktest`). Tests assert behaviour, never speed.

mod boot;
mod descriptors;
mod exceptions;
mod fastpath;
mod heap;
mod ints;
mod libs;
mod lists;
mod mem;
mod ports;
mod sched;
mod selfcheck;
mod sems;
mod signals;
mod tasks;
mod time;
pub mod util;

use crate::ktest::Test;

/// The flat build's fast-path tests: the assembly path taken, and the combined calls' tests
/// again through the Rust path alone (the suite above runs them through the entry points).
#[cfg(not(feature = "mmu"))]
pub static FAST_PATH_TESTS: &[Test] = &[
    Test::new("exec.port.fast.assembly_path_taken", fastpath::assembly_path_taken),
    Test::new("exec.port.fast.rust.fifo_among_equals", fastpath::general::fifo_among_equals),
    Test::new("exec.port.fast.rust.never_overtakes_higher", fastpath::general::never_overtakes_higher),
    Test::new("exec.port.fast.rust.signalled_receiver_not_handed", fastpath::general::signalled_receiver_not_handed),
    Test::new("exec.port.fast.rust.reply_twice_caught", fastpath::general::reply_twice_caught),
    Test::new("exec.port.fast.rust.several_at_reply_port", fastpath::general::several_at_reply_port),
    Test::new("exec.port.fast.rust.arrival_during_reply_wait", fastpath::general::arrival_during_reply_wait),
    Test::new("exec.port.fast.rust.overflow_at_direct_switch", fastpath::general::overflow_at_direct_switch),
    Test::new("exec.port.fast.rust.owner_ends", fastpath::general::owner_ends),
    Test::new("exec.port.fast.rust.client_ends_before_taking_its_reply", fastpath::general::client_ends_before_taking_its_reply),
];

/// Every in-kernel test of the exec crate, in the order they run.
pub static TESTS: &[Test] = &[
    Test::new("arch.gdt.loaded", descriptors::gdt_loaded),
    Test::new("arch.gdt.segments", descriptors::segments),
    Test::new("arch.tss.loaded", descriptors::tss_loaded),
    Test::new("arch.idt.loaded", descriptors::idt_loaded),
    Test::new("arch.idt.gates", descriptors::idt_gates),
    Test::new("arch.exceptions.breakpoint", exceptions::breakpoint),
    Test::new("arch.exceptions.invalid_opcode", exceptions::invalid_opcode),
    Test::new("arch.exceptions.divide_error", exceptions::divide_error),
    Test::new("arch.exceptions.general_protection", exceptions::general_protection),
    Test::new("arch.exceptions.page_fault_read", exceptions::page_fault_read),
    Test::new("arch.exceptions.page_fault_write", exceptions::page_fault_write),
    Test::new("arch.exceptions.guru_report", exceptions::guru_report),
    Test::new("arch.exceptions.system_goes_on", exceptions::system_goes_on),
    Test::new("boot.memmap.boot_map_is_sane", boot::boot_map_is_sane),
    Test::new("boot.memmap.guard_pages", boot::guard_pages),
    Test::new("boot.memmap.unsorted", boot::unsorted),
    Test::new("boot.memmap.overlapping", boot::overlapping),
    Test::new("boot.memmap.bad_maps_rejected", boot::bad_maps_rejected),
    Test::new("boot.pvh.start_info_checked", boot::start_info_checked),
    Test::new("boot.pvh.memmap_checked", boot::memmap_checked),
    Test::new("boot.cmdline.parsed", boot::cmdline_parsed),
    Test::new("heap.sized_from_memory_map", heap::sized_from_memory_map),
    Test::new("heap.alloc_free_baseline", heap::alloc_free_baseline),
    Test::new("heap.large_allocation", heap::large_allocation),
    Test::new("heap.alignment", heap::alignment),
    Test::new("heap.exhaustion_is_an_error", heap::exhaustion_is_an_error),
    Test::new("time.ticks_advance", time::ticks_advance),
    Test::new("time.tsc_matches_pit", time::tsc_matches_pit),
    Test::new("time.uptime_monotonic", time::uptime_monotonic),
    Test::new("time.irq0_unmasked", time::irq0_unmasked),
    Test::new("exec.list.ends", lists::ends),
    Test::new("exec.list.insert_and_remove", lists::insert_and_remove),
    Test::new("exec.list.enqueue_with_ties", lists::enqueue_with_ties),
    Test::new("exec.list.find_name", lists::find_name),
    Test::new("exec.signal.all_32_by_any", signals::all_32_by_any),
    Test::new("exec.signal.all_32_by_number", signals::all_32_by_number),
    Test::new("exec.signal.reserved_bits", signals::reserved_bits),
    Test::new("exec.signal.alloc_free_roundtrip", signals::alloc_free_roundtrip),
    Test::new("exec.signal.set_signal_and_wait", signals::set_signal_and_wait),
    Test::new("exec.signal.signal_wakes_waiter", signals::signal_wakes_waiter),
    Test::new("exec.task.add_find_remove", tasks::add_find_remove),
    Test::new("exec.task.find_self_and_missing", tasks::find_self_and_missing),
    Test::new("exec.task.numbers_are_never_reused", tasks::numbers_are_never_reused),
    Test::new("exec.task.set_pri_returns_old", tasks::set_pri_returns_old),
    Test::new("exec.task.name_is_kept_and_cut", tasks::name_is_kept_and_cut),
    Test::new("exec.task.priority_decides_who_runs", tasks::priority_decides_who_runs),
    Test::new("exec.task.return_ends_task", tasks::return_ends_task),
    Test::new("exec.task.end_reclaims_everything", tasks::end_reclaims_everything),
    Test::new("exec.task.stack_overflow_caught", tasks::stack_overflow_caught),
    Test::new("exec.task.counters_count", tasks::counters_count),
    Test::new("exec.task.remove_other", tasks::remove_other),
    Test::new("exec.task.states_follow_life", tasks::states_follow_life),
    Test::new("exec.task.equal_priority_fifo", tasks::equal_priority_fifo),
    Test::new("exec.task.lowering_own_priority_yields", tasks::lowering_own_priority_yields),
    Test::new("exec.task.owned_memory_is_listed", tasks::owned_memory_is_listed),
    Test::new("exec.sched.quantum_round_robin", sched::quantum_round_robin),
    Test::new("exec.sched.interrupt_wakes_higher_priority", sched::interrupt_wakes_higher_priority),
    Test::new("exec.sched.forbid_prevents_switching", sched::forbid_prevents_switching),
    Test::new("exec.sched.disable_nests", sched::disable_nests),
    Test::new("exec.sched.wait_breaks_forbid", sched::wait_breaks_forbid),
    Test::new("exec.sched.idle_task_exists", sched::idle_task_exists),
    Test::new("exec.port.create_delete", ports::create_delete),
    Test::new("exec.port.create_port_named", ports::create_port_named),
    Test::new("exec.port.public_port_round_trip", ports::public_port_round_trip),
    Test::new("exec.port.fifo_order", ports::fifo_order),
    Test::new("exec.port.child_round_trips", ports::child_round_trips),
    Test::new("exec.port.double_reply_caught", ports::double_reply_caught),
    Test::new("exec.port.double_put_caught", ports::double_put_caught),
    Test::new("exec.port.ignore_action_sends_no_signal", ports::ignore_action_sends_no_signal),
    Test::new("exec.port.soft_int_action", ports::soft_int_action),
    Test::new("exec.port.put_from_interrupt", ports::put_from_interrupt),
    Test::new("exec.port.wait_port_leaves_message", ports::wait_port_leaves_message),
    Test::new("exec.port.fast.fifo_among_equals", fastpath::fifo_among_equals),
    Test::new("exec.port.fast.never_overtakes_higher", fastpath::never_overtakes_higher),
    Test::new("exec.port.fast.signalled_receiver_not_handed", fastpath::signalled_receiver_not_handed),
    Test::new("exec.port.fast.reply_twice_caught", fastpath::reply_twice_caught),
    Test::new("exec.port.fast.several_at_reply_port", fastpath::several_at_reply_port),
    Test::new("exec.port.fast.arrival_during_reply_wait", fastpath::arrival_during_reply_wait),
    Test::new("exec.port.fast.overflow_at_direct_switch", fastpath::overflow_at_direct_switch),
    Test::new("exec.port.fast.owner_ends", fastpath::owner_ends),
    Test::new("exec.port.fast.client_ends_before_taking_its_reply", fastpath::client_ends_before_taking_its_reply),
    Test::new("exec.semaphore.obtain_release_nesting", sems::obtain_release_nesting),
    Test::new("exec.semaphore.exclusive_handover", sems::exclusive_handover),
    Test::new("exec.semaphore.shared_then_exclusive", sems::shared_then_exclusive),
    Test::new("exec.semaphore.waiters_fifo", sems::waiters_fifo),
    Test::new("exec.semaphore.torture", sems::torture),
    Test::new("exec.semaphore.public_semaphores", sems::public_semaphores),
    Test::new("exec.semaphore.release_unheld_alerts", sems::release_unheld_alerts),
    Test::new("exec.semaphore.owner_death_releases", sems::owner_death_releases),
    Test::new("exec.semaphore.waiter_death_leaves_no_request", sems::waiter_death_leaves_no_request),
    Test::new("exec.semaphore.shared_holder_death_releases", sems::shared_holder_death_releases),
    Test::new("exec.memory.churn_back_to_baseline", mem::churn_back_to_baseline),
    Test::new("exec.memory.zero_and_null", mem::zero_and_null),
    Test::new("exec.memory.clear_and_reverse", mem::clear_and_reverse),
    Test::new("exec.memory.largest_and_total", mem::largest_and_total),
    Test::new("exec.memory.vec_and_type_of_mem", mem::vec_and_type_of_mem),
    Test::new("exec.memory.bad_frees_alert", mem::bad_frees_alert),
    Test::new("exec.memory.public_survives_private_freed", mem::public_survives_private_freed),
    Test::new("exec.memory.pools", mem::pools),
    Test::new("exec.interrupts.servers_by_priority", ints::servers_by_priority),
    Test::new("exec.interrupts.cause_runs_by_priority", ints::cause_runs_by_priority),
    Test::new("exec.interrupts.cause_from_interrupt", ints::cause_from_interrupt),
    Test::new("exec.vectors.table_is_the_door", ints::vector_table_is_the_door),
    Test::new("exec.alert.recoverable_returns", ints::recoverable_alert_returns),
    Test::new("exec.library.open_close_counts", libs::open_close_counts),
    Test::new("exec.library.version_refused", libs::version_refused),
    Test::new("exec.library.delayed_expunge", libs::delayed_expunge),
    Test::new("exec.library.set_function_patch_and_restore", libs::set_function_patch_and_restore),
    Test::new("exec.library.exec_is_a_library", libs::exec_is_a_library),
    Test::new("exec.resident.started_by_priority", libs::residents_by_priority),
    // Run only when named: they must fail, or need the host harness to type.
    Test::explicit("selfcheck.fails", selfcheck::fails),
    Test::explicit("selfcheck.panics", selfcheck::panics),
    Test::explicit("selfcheck.guru", selfcheck::guru),
    Test::explicit("selfcheck.triple_fault", selfcheck::triple_fault),
    Test::explicit("selfcheck.hangs", selfcheck::hangs),
    Test::explicit("selfcheck.hangs_interrupts_off", selfcheck::hangs_interrupts_off),
];
