//! AmigaDOS's numbers: packet action codes, error codes and their Fault texts, open modes,
//! lock kinds, seek modes and protection bits, with the values `dos/dosextens.h` gives them.
//! Pure data, shared by dos.library, the handlers and the host tests.
#![forbid(unsafe_code)]

/// A packet's action (`dp_Type`).
pub mod action {
    pub const NIL: i64 = 0;
    pub const GET_BLOCK: i64 = 2;
    pub const SET_MAP: i64 = 4;
    pub const DIE: i64 = 5;
    pub const EVENT: i64 = 6;
    pub const CURRENT_VOLUME: i64 = 7;
    pub const LOCATE_OBJECT: i64 = 8;
    pub const RENAME_DISK: i64 = 9;
    pub const FREE_LOCK: i64 = 15;
    pub const DELETE_OBJECT: i64 = 16;
    pub const RENAME_OBJECT: i64 = 17;
    pub const MORE_CACHE: i64 = 18;
    pub const COPY_DIR: i64 = 19;
    pub const WAIT_CHAR: i64 = 20;
    pub const SET_PROTECT: i64 = 21;
    pub const CREATE_DIR: i64 = 22;
    pub const EXAMINE_OBJECT: i64 = 23;
    pub const EXAMINE_NEXT: i64 = 24;
    pub const DISK_INFO: i64 = 25;
    pub const INFO: i64 = 26;
    pub const FLUSH: i64 = 27;
    pub const SET_COMMENT: i64 = 28;
    pub const PARENT: i64 = 29;
    pub const TIMER: i64 = 30;
    pub const INHIBIT: i64 = 31;
    pub const DISK_TYPE: i64 = 32;
    pub const DISK_CHANGE: i64 = 33;
    pub const SET_DATE: i64 = 34;
    /// 'R'
    pub const READ: i64 = 82;
    /// 'W'
    pub const WRITE: i64 = 87;
    pub const SCREEN_MODE: i64 = 994;
    pub const FINDUPDATE: i64 = 1004;
    pub const FINDINPUT: i64 = 1005;
    pub const FINDOUTPUT: i64 = 1006;
    pub const END: i64 = 1007;
    pub const SEEK: i64 = 1008;
    pub const SET_FILE_SIZE: i64 = 1022;
    pub const IS_FILESYSTEM: i64 = 1027;
}

/// Error codes (`IoErr()`, a packet's `dp_Res2`).
pub mod error {
    pub const NO_FREE_STORE: i64 = 103;
    pub const TASK_TABLE_FULL: i64 = 105;
    pub const BAD_TEMPLATE: i64 = 114;
    pub const BAD_NUMBER: i64 = 115;
    pub const REQUIRED_ARG_MISSING: i64 = 116;
    pub const KEY_NEEDS_ARG: i64 = 117;
    pub const TOO_MANY_ARGS: i64 = 118;
    pub const LINE_TOO_LONG: i64 = 120;
    pub const FILE_NOT_OBJECT: i64 = 121;
    pub const OBJECT_IN_USE: i64 = 202;
    pub const OBJECT_EXISTS: i64 = 203;
    pub const DIR_NOT_FOUND: i64 = 204;
    pub const OBJECT_NOT_FOUND: i64 = 205;
    pub const BAD_STREAM_NAME: i64 = 206;
    pub const OBJECT_TOO_LARGE: i64 = 207;
    pub const ACTION_NOT_KNOWN: i64 = 209;
    pub const INVALID_COMPONENT_NAME: i64 = 210;
    pub const INVALID_LOCK: i64 = 211;
    pub const OBJECT_WRONG_TYPE: i64 = 212;
    pub const DISK_WRITE_PROTECTED: i64 = 214;
    pub const RENAME_ACROSS_DEVICES: i64 = 215;
    pub const DIRECTORY_NOT_EMPTY: i64 = 216;
    pub const TOO_MANY_LEVELS: i64 = 217;
    pub const DEVICE_NOT_MOUNTED: i64 = 218;
    pub const SEEK_ERROR: i64 = 219;
    pub const DISK_FULL: i64 = 221;
    pub const DELETE_PROTECTED: i64 = 222;
    pub const WRITE_PROTECTED: i64 = 223;
    pub const READ_PROTECTED: i64 = 224;
    pub const NO_MORE_ENTRIES: i64 = 232;
    pub const NOT_IMPLEMENTED: i64 = 236;
    pub const BREAK: i64 = 304;
    pub const NOT_EXECUTABLE: i64 = 305;
}

/// The words `Fault()` and `PrintFault()` give an error code; `None` for a code DOS does not
/// know.
pub fn fault_text(code: i64) -> Option<&'static str> {
    use error::*;
    Some(match code {
        NO_FREE_STORE => "Not enough memory",
        TASK_TABLE_FULL => "Too many CLI processes",
        BAD_TEMPLATE => "Bad template",
        BAD_NUMBER => "Bad number",
        REQUIRED_ARG_MISSING => "Required argument missing",
        KEY_NEEDS_ARG => "Value after keyword missing",
        TOO_MANY_ARGS => "Wrong number of arguments",
        LINE_TOO_LONG => "Argument line invalid or too long",
        FILE_NOT_OBJECT => "File is not an object module",
        OBJECT_IN_USE => "Object in use",
        OBJECT_EXISTS => "Object exists",
        DIR_NOT_FOUND => "Directory not found",
        OBJECT_NOT_FOUND => "Object not found",
        BAD_STREAM_NAME => "Invalid window description",
        OBJECT_TOO_LARGE => "Object too large",
        ACTION_NOT_KNOWN => "Packet request type unknown",
        INVALID_COMPONENT_NAME => "Invalid filename component",
        INVALID_LOCK => "Invalid lock",
        OBJECT_WRONG_TYPE => "Object is not of required type",
        DISK_WRITE_PROTECTED => "Disk is write-protected",
        RENAME_ACROSS_DEVICES => "Rename across devices attempted",
        DIRECTORY_NOT_EMPTY => "Directory not empty",
        TOO_MANY_LEVELS => "Too many levels",
        DEVICE_NOT_MOUNTED => "Device (or volume) is not mounted",
        SEEK_ERROR => "Seek error",
        DISK_FULL => "Disk full",
        DELETE_PROTECTED => "File is protected from deletion",
        WRITE_PROTECTED => "File is write protected",
        READ_PROTECTED => "File is read protected",
        NO_MORE_ENTRIES => "No more entries in directory",
        NOT_IMPLEMENTED => "Function not implemented",
        BREAK => "***Break",
        NOT_EXECUTABLE => "File is not executable",
        _ => return None,
    })
}

/// Open modes (`Open()`'s `accessMode`): the packet each sends is the same number.
pub const MODE_OLDFILE: i64 = action::FINDINPUT;
pub const MODE_NEWFILE: i64 = action::FINDOUTPUT;
pub const MODE_READWRITE: i64 = action::FINDUPDATE;

/// Lock kinds (`Lock()`'s `accessMode`).
pub const SHARED_LOCK: i64 = -2;
pub const EXCLUSIVE_LOCK: i64 = -1;
pub const ACCESS_READ: i64 = SHARED_LOCK;
pub const ACCESS_WRITE: i64 = EXCLUSIVE_LOCK;

/// Seek modes.
pub const OFFSET_BEGINNING: i64 = -1;
pub const OFFSET_CURRENT: i64 = 0;
pub const OFFSET_END: i64 = 1;

/// DOS's truth values in a packet's result.
pub const DOSTRUE: i64 = -1;
pub const DOSFALSE: i64 = 0;

/// Protection bits (`fib_Protection`). The low four are *set to forbid*, as on the Amiga.
pub mod prot {
    pub const DELETE: u32 = 1 << 0;
    pub const EXECUTE: u32 = 1 << 1;
    pub const WRITE: u32 = 1 << 2;
    pub const READ: u32 = 1 << 3;
    pub const ARCHIVE: u32 = 1 << 4;
    pub const PURE: u32 = 1 << 5;
    pub const SCRIPT: u32 = 1 << 6;
}

/// `fib_DirEntryType`: positive for a directory, negative for a file.
pub const ST_ROOT: i32 = 1;
pub const ST_USERDIR: i32 = 2;
pub const ST_FILE: i32 = -3;

/// The longest name a RAM: object may have (a FileInfoBlock's `fib_FileName` holds 108 bytes).
pub const MAX_NAME: usize = 107;

/// What EXAMINE_OBJECT and EXAMINE_NEXT fill in (`struct FileInfoBlock`). The caller owns it;
/// `disk_key` is where EXAMINE_NEXT goes on (EXAMINE_OBJECT sets it to the first entry).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FileInfoBlock {
    pub disk_key: u64,
    /// Positive for a directory (`ST_ROOT`, `ST_USERDIR`), negative for a file (`ST_FILE`).
    pub dir_entry_type: i32,
    pub protection: u32,
    pub size: u64,
    /// Seconds since 1978-01-01.
    pub date: u64,
    pub name_len: u8,
    pub file_name: [u8; MAX_NAME + 1],
    /// Fills the tail, so that the block has no padding (it crosses as bytes).
    pub reserved: [u8; 3],
}

impl Default for FileInfoBlock {
    fn default() -> Self {
        FileInfoBlock { disk_key: 0, dir_entry_type: 0, protection: 0, size: 0, date: 0, name_len: 0, file_name: [0; MAX_NAME + 1], reserved: [0; 3] }
    }
}

impl FileInfoBlock {
    /// The name (empty if the handler wrote bytes that are not UTF-8).
    pub fn name(&self) -> &str {
        let n = (self.name_len as usize).min(MAX_NAME);
        core::str::from_utf8(&self.file_name[..n]).unwrap_or("")
    }

    /// Sets the name, cut to 107 bytes at a character boundary.
    pub fn set_name(&mut self, name: &str) {
        let mut n = name.len().min(MAX_NAME);
        while !name.is_char_boundary(n) {
            n -= 1;
        }
        self.file_name[..n].copy_from_slice(&name.as_bytes()[..n]);
        self.name_len = n as u8;
    }

    /// Whether it describes a directory.
    pub fn is_dir(&self) -> bool {
        self.dir_entry_type > 0
    }
}

/// What INFO and DISK_INFO fill in (`struct InfoData`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct InfoData {
    pub num_soft_errors: i64,
    pub unit_number: i64,
    /// `ID_VALIDATED` (82) for a disk that can be written.
    pub disk_state: i64,
    pub num_blocks: i64,
    pub num_blocks_used: i64,
    pub bytes_per_block: i64,
    /// The disk's type (`ID_DOS_DISK`).
    pub disk_type: i64,
    /// Locks and open files outstanding (InfoData's `id_InUse`).
    pub in_use: i64,
}

/// `id_DiskState` of a disk that can be written.
pub const ID_VALIDATED: i64 = 82;
/// `id_DiskType`: 'DOS\0'.
pub const ID_DOS_DISK: i64 = 0x444f_5300;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_errors_the_shell_prints_read_as_amigados_prints_them() {
        assert_eq!(fault_text(error::OBJECT_NOT_FOUND), Some("Object not found"));
        assert_eq!(fault_text(error::OBJECT_IN_USE), Some("Object in use"));
        assert_eq!(fault_text(error::DIRECTORY_NOT_EMPTY), Some("Directory not empty"));
        assert_eq!(fault_text(error::DISK_FULL), Some("Disk full"));
        assert_eq!(fault_text(error::OBJECT_EXISTS), Some("Object exists"));
        assert_eq!(fault_text(9999), None);
    }

    #[test]
    fn packet_structures_have_no_padding() {
        assert_eq!(size_of::<FileInfoBlock>(), 8 + 4 + 4 + 8 + 8 + 1 + MAX_NAME + 1 + 3);
        assert_eq!(size_of::<FileInfoBlock>() % align_of::<FileInfoBlock>(), 0);
        assert_eq!(size_of::<InfoData>(), 8 * 8);
    }

    #[test]
    fn action_codes_have_amigados_numbers() {
        assert_eq!((action::READ, action::WRITE), (b'R' as i64, b'W' as i64));
        assert_eq!((action::FINDINPUT, action::FINDOUTPUT, action::END, action::SEEK), (1005, 1006, 1007, 1008));
        assert_eq!((action::LOCATE_OBJECT, action::IS_FILESYSTEM), (8, 1027));
    }
}
