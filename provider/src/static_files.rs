//! The embedded dashboard, served with negotiation, validators and ranges.

use portico::assets::{lookup, select, Asset, Encoding, Selection};
use portico::http::{HeadWriter, HeaderError, Method, Status};
use portico::server::{Env, Exchange, ServeError, Transport};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// All embedded files.
#[allow(dead_code)]
pub fn assets() -> &'static [Asset] {
    ASSETS
}

pub async fn serve<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
) -> Result<(), ServeError<T::Error>> {
    let head = *ex.head();
    if head.method != Method::Get && head.method != Method::Head {
        return ex
            .respond(
                Status::METHOD_NOT_ALLOWED,
                |h| h.header("Allow", "GET, HEAD").map(drop),
                b"method not allowed\n",
            )
            .await;
    }
    let Some(asset) = lookup(ASSETS, head.path) else {
        return ex.respond_text(Status::NOT_FOUND, "not found\n").await;
    };
    let cache = if asset.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let common = |h: &mut HeadWriter<'_>, etag: &str, enc: Encoding| -> Result<(), HeaderError> {
        h.header("ETag", etag)?;
        h.header("Cache-Control", cache)?;
        h.header("Vary", "Accept-Encoding")?;
        h.header("Accept-Ranges", "bytes")?;
        if enc == Encoding::Gzip {
            h.header("Content-Encoding", "gzip")?;
        }
        Ok(())
    };
    match select(asset, &head) {
        Selection::NotModified { etag, encoding } => {
            ex.respond(Status::NOT_MODIFIED, |h| common(h, etag, encoding), b"")
                .await
        }
        Selection::Full {
            body,
            etag,
            encoding,
        } => {
            ex.respond(
                Status::OK,
                |h| {
                    h.header("Content-Type", asset.content_type)?;
                    common(h, etag, encoding)
                },
                body,
            )
            .await
        }
        Selection::Partial {
            body,
            start,
            end,
            total,
            etag,
            encoding,
        } => {
            ex.respond(
                Status::PARTIAL_CONTENT,
                |h| {
                    h.header("Content-Type", asset.content_type)?;
                    h.header_fmt("Content-Range", format_args!("bytes {start}-{end}/{total}"))?;
                    common(h, etag, encoding)
                },
                body,
            )
            .await
        }
        Selection::Unsatisfiable { total } => {
            ex.respond(
                Status::RANGE_NOT_SATISFIABLE,
                |h| {
                    h.header_fmt("Content-Range", format_args!("bytes */{total}"))?;
                    h.header("Content-Type", "text/plain; charset=utf-8")
                        .map(drop)
                },
                b"range not satisfiable\n",
            )
            .await
        }
    }
}
