//! The builder a `build.rs` uses: which directory, which options, and the table it
//! writes.

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;

use crate::error::Error;
use crate::table::{Embedded, File};
use crate::walk::walk;
use crate::{content_type, fnv1a, is_content_hashed};

/// Which representations of each file to put in flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Identity {
    /// The file as is, plus its gzip form when that saves at least 10 %: every client
    /// is served, `curl` without `--compressed` too. The default.
    #[default]
    Always,
    /// Only the gzip form when it is smaller, else the file as is: the least flash. A
    /// client that refuses gzip gets `406` for those files (every browser accepts it).
    OnlyWhenSmaller,
}

/// Embeds a built front end (a Vite `dist/`, say) as a `portico::assets::Asset` table.
///
/// ```no_run
/// // build.rs
/// portico_assets::Embed::new("../ui/dist")
///     .budget(300_000)
///     .write()
///     .unwrap_or_else(|e| e.fail_build());
/// // src/main.rs: include!(concat!(env!("OUT_DIR"), "/assets.rs"));
/// // defines `pub static ASSETS: &[portico::assets::Asset]`.
/// ```
#[derive(Debug, Clone)]
pub struct Embed {
    dir: PathBuf,
    out_dir: Option<PathBuf>,
    budget: Option<usize>,
    spa_fallback: bool,
    identity: Identity,
    placeholder: Option<String>,
    immutable: fn(&str) -> bool,
}

impl Embed {
    /// Every file under `dir` (relative paths are from the package's directory, where
    /// cargo runs build scripts), served at its path below `dir`: `dir/assets/x.js` at
    /// `/assets/x.js`. Names starting with `.` are left out.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Embed {
            dir: dir.into(),
            out_dir: None,
            budget: None,
            spa_fallback: false,
            identity: Identity::Always,
            placeholder: None,
            immutable: is_content_hashed,
        }
    }

    /// Fails the build when the embedded bytes (every representation kept, see
    /// [`Identity`]) exceed `bytes`, naming the total and the largest files. The table
    /// itself (paths, types, validators: about 100 B a file) is not counted. Default:
    /// no budget.
    pub fn budget(mut self, bytes: usize) -> Self {
        self.budget = Some(bytes);
        self
    }

    /// Serves `/index.html` for a browser's navigation to a path no file has (a
    /// client-side route such as `/settings/wifi`), for front ends that route with the
    /// History API; see `portico::assets::resolve` for exactly when. Needs
    /// `dir/index.html`. Default: off (a hash-routed front end, like Portico's own
    /// dashboard, never needs it, and a mistyped path is then an honest `404`).
    pub fn spa_fallback(mut self, on: bool) -> Self {
        self.spa_fallback = on;
        self
    }

    /// Which representations to keep. Default: [`Identity::Always`].
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = identity;
        self
    }

    /// A page embedded as `/index.html` instead, with a cargo warning, when
    /// `dir/index.html` does not exist (the front end was not built): the firmware still
    /// builds and says so on its home page. Default: none (a missing `dir` fails the
    /// build).
    pub fn placeholder(mut self, html: impl Into<String>) -> Self {
        self.placeholder = Some(html.into());
        self
    }

    /// Which URL paths are content-hashed, so are served `Cache-Control: public,
    /// max-age=31536000, immutable` (the rest `no-cache`). Default:
    /// [`is_content_hashed`].
    pub fn immutable_if(mut self, rule: fn(&str) -> bool) -> Self {
        self.immutable = rule;
        self
    }

    /// Where [`write`](Self::write) puts `assets.rs` and the compressed files. Default:
    /// `$OUT_DIR`.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Reads, compresses and classifies every file and checks the budget, writing
    /// nothing.
    pub fn collect(&self) -> Result<Embedded, Error> {
        let mut sources = Vec::new();
        let placeholder = match &self.placeholder {
            Some(page) if !self.dir.join("index.html").is_file() => Some(page),
            _ => None,
        };
        if let Some(page) = placeholder {
            sources.push(("/index.html".to_string(), None, page.as_bytes().to_vec()));
        } else {
            if !self.dir.is_dir() {
                return Err(Error::NotBuilt {
                    dir: self.dir.clone(),
                });
            }
            let mut found = Vec::new();
            walk(&self.dir, &self.dir, &mut found)?;
            found.sort();
            for (url, path) in found {
                let bytes = fs::read(&path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                sources.push((url, Some(path), bytes));
            }
        }
        let mut files = Vec::with_capacity(sources.len());
        for (url, source, identity) in sources {
            let gz = gzip(&identity);
            let keep_gzip = match self.identity {
                Identity::Always => gz.len() * 10 < identity.len() * 9,
                Identity::OnlyWhenSmaller => gz.len() < identity.len(),
            };
            files.push(File {
                content_type: content_type(&url),
                etag: format!("\"{:016x}\"", fnv1a(&identity)),
                etag_gzip: format!("\"{:016x}-gz\"", fnv1a(&gz)),
                keep_identity: !(keep_gzip && self.identity == Identity::OnlyWhenSmaller),
                gzip_len: gz.len(),
                gzip: keep_gzip.then_some(gz),
                immutable: (self.immutable)(&url),
                fallback: self.spa_fallback && url == "/index.html",
                url,
                source,
                identity,
            });
        }
        if self.spa_fallback && !files.iter().any(|f| f.fallback) {
            return Err(Error::NoFallbackPage {
                dir: self.dir.clone(),
            });
        }
        let embedded = Embedded {
            dir: self.dir.clone(),
            placeholder: placeholder.is_some(),
            files,
        };
        if let Some(budget) = self.budget {
            embedded.check_budget(budget)?;
        }
        Ok(embedded)
    }

    /// [`collect`](Self::collect), then writes `assets.rs` (defining `pub static ASSETS:
    /// &[portico::assets::Asset]`) and the gzip files into the output directory, and
    /// tells cargo to run the build script again when `dir` changes.
    pub fn write(&self) -> Result<Embedded, Error> {
        println!("cargo::rerun-if-changed={}", self.dir.display());
        let out = match &self.out_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(Error::NoOutDir)?,
        };
        let embedded = self.collect()?;
        if embedded.placeholder {
            println!(
                "cargo::warning={} is not built: embedding a placeholder page",
                self.dir.display()
            );
        }
        let table = embedded.render(&out)?;
        let path = out.join("assets.rs");
        fs::write(&path, table).map_err(|source| Error::Io { path, source })?;
        Ok(embedded)
    }
}

/// gzip at the highest level: compression happens once, at build time.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    enc.write_all(data).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}
