//! What can stop an embedding, worded for the person reading the build's output.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why [`Embed::write`](crate::Embed::write) (or
/// [`Embed::collect`](crate::Embed::collect)) failed. Each message is one line that
/// names the directory and what to do.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The directory does not exist (the front end is not built) and no placeholder
    /// page was given.
    NotBuilt {
        /// The directory given to [`Embed::new`](crate::Embed::new).
        dir: PathBuf,
    },
    /// The embedded files are larger than [`Embed::budget`](crate::Embed::budget).
    OverBudget {
        /// The directory.
        dir: PathBuf,
        /// The budget, in bytes.
        budget: usize,
        /// What the files would take, in bytes.
        total: usize,
        /// The largest files, largest first (at most five): URL path and bytes.
        largest: Vec<(String, usize)>,
        /// What the files would take with
        /// [`Identity::OnlyWhenSmaller`](crate::Identity::OnlyWhenSmaller), when that
        /// is less.
        gzip_only: Option<usize>,
    },
    /// [`Embed::spa_fallback`](crate::Embed::spa_fallback) is on but there is no
    /// `/index.html` to fall back to.
    NoFallbackPage {
        /// The directory.
        dir: PathBuf,
    },
    /// A file name a URL cannot carry as is (it would need percent-encoding).
    BadName {
        /// The file.
        path: PathBuf,
    },
    /// No output directory: `OUT_DIR` is unset (not in a build script) and
    /// [`Embed::out_dir`](crate::Embed::out_dir) was not called.
    NoOutDir,
    /// Reading or writing a file failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

impl Error {
    /// Stops the build script with this error as a cargo error (`cargo::error=`, shown
    /// by cargo as `error: …`). For `build.rs`:
    /// `Embed::new("../ui/dist").write().unwrap_or_else(|e| e.fail_build());`
    pub fn fail_build(&self) -> ! {
        println!("{}", self.cargo_error());
        std::process::exit(1)
    }

    /// The `cargo::error=…` line [`fail_build`](Self::fail_build) prints.
    pub fn cargo_error(&self) -> String {
        // One line: cargo reads instructions line by line.
        format!("cargo::error={}", self.to_string().replace('\n', " "))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotBuilt { dir } => write!(
                f,
                "portico-assets: {} does not exist: build the front end first (e.g. `npm run build`)",
                dir.display()
            ),
            Error::OverBudget {
                dir,
                budget,
                total,
                largest,
                gzip_only,
            } => {
                write!(
                    f,
                    "portico-assets: the files of {} take {} B, over the budget of {} B by {} B; largest:",
                    dir.display(),
                    grouped(*total),
                    grouped(*budget),
                    grouped(total - budget),
                )?;
                for (i, (path, bytes)) in largest.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{path} {} B", grouped(*bytes))?;
                }
                if let Some(n) = gzip_only {
                    write!(
                        f,
                        "; gzip only where smaller (Identity::OnlyWhenSmaller) would take {} B",
                        grouped(*n)
                    )?;
                }
                Ok(())
            }
            Error::NoFallbackPage { dir } => write!(
                f,
                "portico-assets: spa_fallback(true) needs {}/index.html to fall back to",
                dir.display()
            ),
            Error::BadName { path } => write!(
                f,
                "portico-assets: {} has a name a URL cannot carry as is (use letters, digits and -._~ only)",
                path.display()
            ),
            Error::NoOutDir => write!(
                f,
                "portico-assets: OUT_DIR is not set: call write() from build.rs, or set Embed::out_dir"
            ),
            Error::Io { path, source } => {
                write!(f, "portico-assets: {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `1234567` → `1,234,567`: budgets are read by people.
pub(crate) fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
    }
}
