//! What each representation of a built front end would cost in flash: the files as is,
//! gzip as `portico-assets` embeds it (`Compression::best()`), and brotli at quality 11.
//!
//! `cargo run -p portico-assets --features measure --example compression -- DIR`

use std::io::Write as _;

use portico_assets::{Embed, Identity};

fn brotli(data: &[u8]) -> usize {
    let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
    w.write_all(data).expect("into memory");
    w.into_inner().len()
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: compression DIR");
    let embedded = Embed::new(&dir).collect().unwrap_or_else(|e| panic!("{e}"));
    let smallest = Embed::new(&dir)
        .identity(Identity::OnlyWhenSmaller)
        .collect()
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{:<40} {:>9} {:>9} {:>9}",
        "file", "identity", "gzip", "brotli"
    );
    let (mut id, mut gz, mut br) = (0, 0, 0);
    for f in &embedded.files {
        let g = portico_gzip_len(f);
        let b = brotli(&f.identity);
        println!("{:<40} {:>9} {:>9} {:>9}", f.url, f.identity.len(), g, b);
        id += f.identity.len();
        gz += g;
        br += b;
    }
    println!("{:<40} {:>9} {:>9} {:>9}", "total", id, gz, br);
    println!(
        "brotli vs gzip: {} B smaller ({:.1} %)",
        gz as i64 - br as i64,
        100.0 * (gz as f64 - br as f64) / gz as f64
    );
    println!(
        "embedded today: {} B (identity + gzip), {} B (gzip only where smaller)",
        embedded.total(),
        smallest.total()
    );
    println!(
        "adding brotli: +{} B ({:.0} % more flash) with gzip only where smaller",
        br,
        100.0 * br as f64 / smallest.total() as f64
    );
}

/// The gzip form as embedded, or its length had it been kept.
fn portico_gzip_len(f: &portico_assets::File) -> usize {
    match &f.gzip {
        Some(g) => g.len(),
        None => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(&f.identity).expect("into memory");
            e.finish().expect("into memory").len()
        }
    }
}
