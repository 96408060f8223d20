//! `scripts/detect.sh` and `scripts/deps.sh` against fake file trees: what counts as the libclang
//! bindgen loads, and what a machine without it is told to do.

use std::path::Path;
use std::process::Command;

const DETECT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/detect.sh");
const DEPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/deps.sh");

/// Runs `cairn_find_libclang ROOT`; the path it printed if it found one.
fn find_libclang(root: &Path, libclang_path: Option<&Path>) -> Option<String> {
    let mut cmd = Command::new("bash");
    cmd.args(["-c", "source \"$1\"; cairn_find_libclang \"$2\"", "detect", DETECT])
        .arg(root)
        .env_remove("LIBCLANG_PATH");
    if let Some(p) = libclang_path {
        cmd.env("LIBCLANG_PATH", p);
    }
    let out = cmd.output().unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() {
        assert!(!printed.is_empty(), "found, but printed nothing");
        Some(printed)
    } else {
        assert!(printed.is_empty(), "not found, but printed {printed:?}");
        None
    }
}

fn touch(root: &Path, rel: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, b"").unwrap();
}

/// The stock Debian 12 image: LLVM's C++ interface library, which bindgen cannot load.
fn stock_image(root: &Path) {
    touch(root, "usr/lib/llvm-14/lib/libclang-cpp.so.14");
    touch(root, "usr/lib/x86_64-linux-gnu/libclang-cpp.so.14");
}

#[test]
fn only_libclang_cpp_counts_as_missing() {
    let tmp = tempfile::tempdir().unwrap();
    stock_image(tmp.path());
    touch(tmp.path(), "usr/lib/llvm-14/lib/libclang-cpp.so");
    assert_eq!(find_libclang(tmp.path(), None), None);
}

#[test]
fn a_versioned_libclang_counts_as_present() {
    let tmp = tempfile::tempdir().unwrap();
    stock_image(tmp.path());
    touch(tmp.path(), "usr/lib/x86_64-linux-gnu/libclang-14.so.1");
    let found = find_libclang(tmp.path(), None).expect("libclang-14.so.1 is what bindgen loads");
    assert!(found.ends_with("usr/lib/x86_64-linux-gnu/libclang-14.so.1"), "{found}");

    for name in [
        "usr/lib/llvm-16/lib/libclang.so",
        "usr/local/lib/libclang.so.13",
        "usr/lib64/libclang-17.so",
    ] {
        let t = tempfile::tempdir().unwrap();
        touch(t.path(), name);
        assert!(find_libclang(t.path(), None).is_some_and(|f| f.ends_with(name)), "{name}");
    }
}

#[test]
fn a_dangling_libclang_link_does_not_count() {
    let tmp = tempfile::tempdir().unwrap();
    stock_image(tmp.path());
    let dir = tmp.path().join("usr/lib/llvm-14/lib");
    std::os::unix::fs::symlink(dir.join("libclang-14.so.1"), dir.join("libclang.so")).unwrap();
    assert_eq!(find_libclang(tmp.path(), None), None);
}

#[test]
fn libclang_path_counts_as_present() {
    let tmp = tempfile::tempdir().unwrap();
    stock_image(tmp.path());
    let elsewhere = tempfile::tempdir().unwrap();
    touch(elsewhere.path(), "libclang.so");
    let found = find_libclang(tmp.path(), Some(elsewhere.path())).expect("LIBCLANG_PATH is searched");
    assert!(found.starts_with(&*elsewhere.path().to_string_lossy()), "{found}");
    // The file itself is accepted too, as clang-sys accepts it.
    let file = elsewhere.path().join("libclang.so");
    assert!(find_libclang(tmp.path(), Some(&file)).is_some());
    // A LIBCLANG_PATH without libclang in it finds nothing.
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(find_libclang(tmp.path(), Some(empty.path())), None);
}

/// Runs `scripts/deps.sh` in report-only mode with libclang looked for under `root`; whether it
/// passed, and what it said.
fn deps_report(root: &Path) -> (bool, String) {
    let out = Command::new("bash")
        .args(["-c", "source \"$1\"", "deps", DEPS])
        .env_remove("LIBCLANG_PATH")
        .env("CAIRN_DEPS_ROOT", root)
        .env("CAIRN_NO_INSTALL", "1")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_machine_without_libclang_is_told_exactly_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    stock_image(tmp.path());
    let (ok, text) = deps_report(tmp.path());
    assert!(!ok, "{text}");
    assert!(text.contains("libclang (for bindgen): missing"), "{text}");
    assert!(text.contains("apt-get install libclang-dev"), "{text}");
    assert!(text.contains("LIBCLANG_PATH"), "{text}");

    // With one in place, the check passes and says where it is.
    touch(tmp.path(), "usr/lib/llvm-14/lib/libclang-14.so.1");
    let (ok, text) = deps_report(tmp.path());
    assert!(ok, "{text}");
    assert!(
        text.contains("libclang (for bindgen): ") && text.contains("libclang-14.so.1"),
        "{text}"
    );
}
