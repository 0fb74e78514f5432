//! Which files of a directory are embedded, and at which URL path.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Every file under `dir` as `(URL path, file)`, relative to `root`.
pub(crate) fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let p = entry.path();
        let name = p.file_name().and_then(|n| n.to_str());
        if name.is_some_and(|n| n.starts_with('.')) || precompressed_copy(&p) {
            continue;
        }
        // A symlinked directory is not followed: a link to `..` would never end.
        if entry.file_type().map_err(io)?.is_dir() {
            walk(root, &p, out)?;
            continue;
        }
        if p.is_dir() {
            continue;
        }
        let rel = p.strip_prefix(root).unwrap_or(&p);
        let Some(rel) = rel.to_str() else {
            return Err(Error::BadName { path: p });
        };
        let url = format!("/{}", rel.replace('\\', "/"));
        if !url.bytes().all(url_safe) {
            return Err(Error::BadName { path: p });
        }
        out.push((url, p));
    }
    Ok(())
}

/// `x.js.gz` or `x.js.br` beside `x.js` (from a bundler's compression plugin): left
/// out, since the gzip form is made here and brotli is not served.
fn precompressed_copy(p: &Path) -> bool {
    let Some(ext) = p.extension() else {
        return false;
    };
    (ext == "gz" || ext == "br") && p.with_extension("").is_file()
}

/// Characters a request path carries unencoded, that the server compares as is.
fn url_safe(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"/-._~".contains(&c)
}
