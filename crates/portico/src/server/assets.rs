//! Serving the embedded asset set: the response side of [`crate::assets`].

use super::{Env, Exchange, ServeError, Transport};
use crate::assets::{accepts_gzip, lookup, select, Asset, Encoding, Selection};
use crate::http::{HeadWriter, HeaderError, Method, Status};

/// Answers a request from `assets`: 405 for methods other than GET/HEAD, 404 when no
/// asset matches, otherwise 200/206/304/416 with `ETag`, `Cache-Control` (`immutable`
/// for content-hashed names, `no-cache` otherwise), `Vary`, `Accept-Ranges` and, for the
/// gzip representation, `Content-Encoding`. The body goes out straight from the
/// embedded bytes; nothing is copied whole into RAM.
///
/// An asset stored gzip-only (empty `identity`, to save flash) is answered 406 to a
/// client that does not accept gzip.
pub async fn serve_asset<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
    assets: &[Asset],
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
    let Some(asset) = lookup(assets, head.path) else {
        return ex.respond_text(Status::NOT_FOUND, "not found\n").await;
    };
    if asset.identity.is_empty() && asset.gzip.is_some() && !accepts_gzip(&head) {
        return ex
            .respond_text(
                Status(406),
                "this device serves its files gzip-encoded only\n",
            )
            .await;
    }
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
