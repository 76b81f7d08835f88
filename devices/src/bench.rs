//! Device benchmarks for `-append bench`: one do_io round trip on each device, each checked
//! (no error; the time moves forward; the query answers).

use exec::bench::measure_checked;
use exec::device::{close_device, do_io, open_device};
use exec::port::{create_msg_port, delete_msg_port};

use crate::serial::SDCMD_QUERY;
use crate::timer::{TR_GETSYSTIME, TimeRequest, UNIT_MICROHZ};

/// timer.device TR_GETSYSTIME and serial.device SDCMD_QUERY, each a quick do_io.
pub fn run() {
    let port = create_msg_port();
    let mut t = TimeRequest::new(port);
    // SAFETY: the request and port live on this frame until closed and deleted.
    unsafe {
        if open_device("timer.device", UNIT_MICROHZ, &mut t.io, 0) == 0 {
            t.io.command = TR_GETSYSTIME;
            let mut last = (0, 0);
            measure_checked("timer_do_io", 0, false, exec::bench::count(10_000), |clock, _| {
                clock.start();
                let error = do_io(&mut t.io);
                clock.stop();
                let now = (t.time.secs, t.time.micro);
                let right = error == 0 && now >= last;
                last = now;
                right
            });
            close_device(&mut t.io);
        }
        let mut s = exec::device::IoRequest::new(port, size_of::<exec::device::IoRequest>());
        if open_device("serial.device", 0, &mut s, 0) == 0 {
            s.command = SDCMD_QUERY;
            measure_checked("serial_do_io", 0, false, exec::bench::count(10_000), |clock, _| {
                clock.start();
                let error = do_io(&mut s);
                clock.stop();
                error == 0
            });
            close_device(&mut s);
        }
        delete_msg_port(port);
    }
}
