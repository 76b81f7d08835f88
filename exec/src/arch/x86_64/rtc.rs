//! The CMOS real-time clock: read once at boot to set the system time.

use x86_64::instructions::port::Port;

fn read(reg: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 are the CMOS index/data pair on every PC machine QEMU models;
    // bit 7 of the index keeps NMIs enabled as they are.
    unsafe {
        Port::<u8>::new(0x70).write(reg);
        Port::<u8>::new(0x71).read()
    }
}

/// The date and time `(year, month, day, hour, minute, second)` the RTC holds, or `None` if
/// there is no RTC or it reads as nonsense.
pub fn read_time() -> Option<(i64, u32, u32, u32, u32, u32)> {
    // Wait out an update in progress (at most ~2 ms on real hardware), bounded.
    let mut tries = 0;
    while read(0x0a) & 0x80 != 0 {
        tries += 1;
        if tries > 100_000 {
            return None;
        }
    }
    let status_b = read(0x0b);
    let bcd = status_b & 0x04 == 0;
    let conv = |v: u8| if bcd { (v >> 4) as u32 * 10 + (v & 0x0f) as u32 } else { v as u32 };
    let (s, mi, h, d, mo, y) = (read(0x00), read(0x02), read(0x04), read(0x07), read(0x08), read(0x09));
    let hour = if status_b & 0x02 == 0 && h & 0x80 != 0 { (conv(h & 0x7f) % 12) + 12 } else { conv(h & 0x7f) };
    let (sec, min, day, month, year) = (conv(s), conv(mi), conv(d), conv(mo), conv(y));
    if sec > 59 || min > 59 || hour > 23 || !(1..=31).contains(&day) || !(1..=12).contains(&month) || year > 99 {
        return None;
    }
    Some((2000 + year as i64, month, day, hour, min, sec))
}
