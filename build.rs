//! Links the kernel image statically at 1 MiB with `linker.ld` (the target defaults to
//! static-PIE, which rejects the boot trampoline's absolute 32-bit relocations).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rerun-if-changed=linker.ld");
    if std::env::var("TARGET").as_deref() == Ok("x86_64-unknown-none") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
