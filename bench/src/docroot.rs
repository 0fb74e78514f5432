//! A directory of files as picoserve's in-memory `Directory`: how both picoserve peers
//! (`pico-server` on tokio, `pico-device` on embassy-net) serve the provider's page and
//! assets, which `bench-run` and `device-bench` fetch from the provider into a directory
//! first (the provider's files are embedded at its build, not available as a crate).

use std::path::Path;

use picoserve::response::fs::{Directory, File};

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Loads a directory tree into picoserve's static `Directory` (read once, kept for good:
/// a device's files are in flash for its whole life).
pub fn load_dir(dir: &Path) -> std::io::Result<Directory> {
    let mut files = Vec::new();
    let mut subs = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type()?.is_dir() {
            subs.push((leak_str(name), load_dir(&e.path())?));
        } else {
            let body: &'static [u8] = Box::leak(std::fs::read(e.path())?.into_boxed_slice());
            files.push((
                leak_str(name.clone()),
                File::with_content_type(portico_assets::content_type(&name), body),
            ));
        }
    }
    Ok(Directory {
        files: Box::leak(files.into_boxed_slice()),
        sub_directories: Box::leak(subs.into_boxed_slice()),
    })
}

/// The directory's `index.html`, served at `/` as by the other servers (a placeholder
/// page when there is none).
pub fn index(dir: &Directory) -> File {
    dir.files
        .iter()
        .find(|(n, _)| *n == "index.html")
        .map(|(_, f)| f.clone())
        .unwrap_or_else(|| File::html("<!doctype html><title>empty</title>\n"))
}
