//! The builder a `build.rs` uses: which directory, which options, and the table it
//! writes.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{grouped, Error};
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

/// One file as it will be embedded.
#[derive(Debug, Clone)]
pub struct File {
    /// URL path (`/assets/index-DigXP85U.js`).
    pub url: String,
    /// Where it was read from (`None`: the placeholder page).
    pub source: Option<PathBuf>,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub identity: Vec<u8>,
    /// Whether the bytes as is are embedded (see [`Identity`]).
    pub keep_identity: bool,
    /// The gzip form, when embedded.
    pub gzip: Option<Vec<u8>>,
    /// The length of the gzip form, embedded or not.
    pub gzip_len: usize,
    /// Strong validator of the bytes as is, quoted.
    pub etag: String,
    /// Strong validator of the gzip form, quoted.
    pub etag_gzip: String,
    /// Served as immutable (content-hashed name).
    pub immutable: bool,
    /// The single-page-app fallback page.
    pub fallback: bool,
}

impl File {
    /// The bytes it puts in flash.
    pub fn embedded_bytes(&self) -> usize {
        let identity = if self.keep_identity {
            self.identity.len()
        } else {
            0
        };
        identity + self.gzip.as_ref().map_or(0, Vec::len)
    }
}

/// What [`Embed::collect`] found: the table to write.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// The directory embedded.
    pub dir: PathBuf,
    /// The placeholder page stands in for an unbuilt front end.
    pub placeholder: bool,
    /// Every file, sorted by URL path.
    pub files: Vec<File>,
}

impl Embedded {
    /// The bytes all files put in flash (what [`Embed::budget`] limits).
    pub fn total(&self) -> usize {
        self.files.iter().map(File::embedded_bytes).sum()
    }

    fn check_budget(&self, budget: usize) -> Result<(), Error> {
        let total = self.total();
        if total <= budget {
            return Ok(());
        }
        let mut largest: Vec<(String, usize)> = self
            .files
            .iter()
            .map(|f| (f.url.clone(), f.embedded_bytes()))
            .collect();
        largest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        largest.truncate(5);
        // What the least flash would be, when that is not already the choice.
        let smallest: usize = self
            .files
            .iter()
            .map(|f| f.gzip_len.min(f.identity.len()))
            .sum();
        Err(Error::OverBudget {
            dir: self.dir.clone(),
            budget,
            total,
            largest,
            gzip_only: (smallest < total).then_some(smallest),
        })
    }

    /// The Rust source of the table, writing the files it includes (gzip forms, the
    /// placeholder) into `out`.
    pub fn render(&self, out: &Path) -> Result<String, Error> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let dir = out.join("portico-assets");
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut table = format!(
            "// Generated by portico-assets from {} at build time: {} files, {} B.\n\
             /// The embedded front end.\n\
             pub static ASSETS: &[portico::assets::Asset] = &[\n",
            self.dir.display(),
            self.files.len(),
            grouped(self.total()),
        );
        for (i, f) in self.files.iter().enumerate() {
            let identity = if !f.keep_identity {
                "&[]".to_string()
            } else if let Some(src) = &f.source {
                let abs = fs::canonicalize(src).map_err(io(src))?;
                format!("include_bytes!({:?})", abs.display().to_string())
            } else {
                let p = dir.join(format!("{i}.bin"));
                fs::write(&p, &f.identity).map_err(io(&p))?;
                format!("include_bytes!({:?})", p.display().to_string())
            };
            let gzip = match &f.gzip {
                Some(gz) => {
                    let p = dir.join(format!("{i}.gz"));
                    fs::write(&p, gz).map_err(io(&p))?;
                    format!("Some(include_bytes!({:?}))", p.display().to_string())
                }
                None => "None".to_string(),
            };
            let caching = if f.immutable {
                "Immutable"
            } else {
                "Revalidate"
            };
            table.push_str(&format!(
                "    portico::assets::Asset {{\n        path: {:?},\n        content_type: {:?},\n        \
                 identity: {identity},\n        gzip: {gzip},\n        etag: {:?},\n        \
                 etag_gzip: {:?},\n        caching: portico::assets::Caching::{caching},\n        \
                 fallback: {},\n    }},\n",
                f.url, f.content_type, f.etag, f.etag_gzip, f.fallback,
            ));
        }
        table.push_str("];\n");
        Ok(table)
    }
}

/// gzip at the highest level: compression happens once, at build time.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    enc.write_all(data).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), Error> {
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
