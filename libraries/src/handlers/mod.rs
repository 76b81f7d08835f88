//! The DOS handlers (AmigaDOS's DOS devices): RAM: and NIL:, each an Exec task with a public
//! port named after it, reached only by DOS packets. dos.library starts them at boot.
//! CON: (the console handler over serial.device) is not built yet: the shell and its
//! commands still reach the console through serial.device (`workbench-shell/src/con.rs`).

pub mod nil;
pub mod ram;

/// Seconds since 1978-01-01 at tick 0, from timer.device's system time (0 if it does not
/// answer), so that a handler dates its changes without a request per change.
fn boot_epoch() -> u64 {
    let port = exec::sys::create_msg_port();
    if port.is_null() {
        return 0;
    }
    let mut req = devices::timer::TimeRequest::new(port);
    // SAFETY: the request and port live on this frame until closed and deleted.
    let secs = unsafe {
        let ok = exec::sys::open_device("timer.device", devices::timer::UNIT_MICROHZ, &mut req.io, 0) == 0;
        if ok {
            req.io.command = devices::timer::TR_GETSYSTIME;
            exec::sys::do_io(&mut req.io);
            exec::sys::close_device(&mut req.io);
        }
        exec::sys::delete_msg_port(port);
        if ok { req.time.secs } else { 0 }
    };
    secs.saturating_sub(exec::time::ticks() / exec::time::TICK_HZ)
}
