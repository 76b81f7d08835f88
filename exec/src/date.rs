//! Calendar arithmetic for the system clock: days since the Amiga epoch (1 January 1978) and
//! back, for the RTC at boot and the shell's DATE.

/// Days from 1970-01-01 to 1978-01-01.
const AMIGA_EPOCH_DAYS: i64 = 2922;

/// Days since 1978-01-01 of the given civil date (proleptic Gregorian).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Howard Hinnant's algorithm, shifted to the Amiga epoch.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 - AMIGA_EPOCH_DAYS
}

/// The civil date `(year, month, day)` of `days` since 1978-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + AMIGA_EPOCH_DAYS + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// 0 = Sunday .. 6 = Saturday.
pub fn weekday(days: i64) -> u32 {
    // 1978-01-01 was a Sunday.
    days.rem_euclid(7) as u32
}

const WEEKDAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `secs` since 1978-01-01 as AmigaDOS's DATE prints it: `Monday 23-Nov-26 09:41:07`.
pub fn format_amiga(secs: u64, out: &mut impl core::fmt::Write) -> core::fmt::Result {
    let days = (secs / 86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    let t = secs % 86_400;
    write!(
        out,
        "{} {:02}-{}-{:02} {:02}:{:02}:{:02}",
        WEEKDAYS[weekday(days) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y.rem_euclid(100),
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1978, 1, 1), 0);
        assert_eq!(days_from_civil(1978, 1, 2), 1);
        assert_eq!(days_from_civil(2000, 3, 1), 8095);
        assert_eq!(civil_from_days(0), (1978, 1, 1));
        assert_eq!(civil_from_days(8095), (2000, 3, 1));
        for d in [-1000, 0, 59, 365, 10_000, 17_503, 30_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn amiga_format() {
        let secs = days_from_civil(2026, 11, 23) as u64 * 86_400 + 9 * 3600 + 41 * 60 + 7;
        let mut s = String::new();
        format_amiga(secs, &mut s).unwrap();
        assert_eq!(s, "Monday 23-Nov-26 09:41:07");
    }
}
