//! Build script: compiles the C RESP request parser (`csrc/resp.c`) into a
//! static library linked into the crate. Warnings are errors, so the C side
//! is held to the same bar as `cargo clippy -D warnings` on the Rust side.
//! `DISKDB_ASAN=1` builds the parser under AddressSanitizer (see below);
//! other C flags come from the usual `CFLAGS`, which `cc` honours.

fn main() {
    // A directory makes Cargo rerun us when any file inside it changes.
    println!("cargo:rerun-if-changed=csrc");
    println!("cargo:rerun-if-env-changed=DISKDB_ASAN");
    let mut build = cc::Build::new();
    build
        .file("csrc/resp.c")
        .include("csrc")
        .std("c11")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        .flag_if_supported("-Wshadow")
        .flag_if_supported("-Wstrict-prototypes")
        .flag_if_supported("-Wmissing-prototypes");
    // `make asan`: DISKDB_ASAN=1 instruments only the parser (not RocksDB,
    // which global CFLAGS/RUSTFLAGS would rebuild) and links the ASan runtime,
    // which the test binary must get first: run it with
    // LD_PRELOAD=$(gcc -print-file-name=libasan.so).
    if std::env::var_os("DISKDB_ASAN").is_some_and(|v| !v.is_empty() && v != "0") {
        build.flag("-fsanitize=address").flag("-fno-omit-frame-pointer");
        println!("cargo:rustc-link-lib=dylib=asan");
    }
    build.compile("diskdb_resp");
}
