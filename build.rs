//! Build script: compiles the C RESP request parser (`csrc/resp.c`) into a
//! static library linked into the crate. Warnings are errors, so the C side
//! is held to the same bar as `cargo clippy -D warnings` on the Rust side.
//! Extra C flags (e.g. `-fsanitize=address` for `make asan`) come from the
//! usual `CFLAGS` environment variable, which `cc` honours.

fn main() {
    // A directory makes Cargo rerun us when any file inside it changes.
    println!("cargo:rerun-if-changed=csrc");
    cc::Build::new()
        .file("csrc/resp.c")
        .include("csrc")
        .std("c11")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        .flag_if_supported("-Wshadow")
        .flag_if_supported("-Wstrict-prototypes")
        .flag_if_supported("-Wmissing-prototypes")
        .compile("diskdb_resp");
}
