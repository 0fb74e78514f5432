//! Serving the embedded asset set: the response side of [`crate::assets`].

use super::{Env, Exchange, ServeError, Transport};
use crate::assets::{
    accepts_gzip, fallback_for, file, resolve, select, Asset, Encoding, Selection,
};
use crate::http::{HeadWriter, HeaderError, Method, Status};

/// Answers a request from `assets`: 405 for methods other than GET/HEAD, 404 when no
/// asset matches ([`resolve`]: the file, or the single-page-app fallback for a browser's
/// navigation when the table has one), otherwise 200/206/304/416 with `ETag`,
/// `Cache-Control` (from the asset's [`Caching`](crate::assets::Caching) class), `Vary`,
/// `Accept-Ranges` and, for the gzip representation, `Content-Encoding`. The body goes
/// out straight from the embedded bytes; nothing is copied whole into RAM.
///
/// Where the fallback could answer, the answer depends on `Accept` too, and `Vary`
/// says so (on the `404` as well), so a shared cache never hands the page to a script.
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
    let by_accept = file(assets, head.path).is_none() && fallback_for(assets, head.path).is_some();
    let vary = if by_accept {
        "Accept-Encoding, Accept"
    } else {
        "Accept-Encoding"
    };
    let Some(asset) = resolve(assets, &head) else {
        if by_accept {
            return ex
                .respond(
                    Status::NOT_FOUND,
                    |h| {
                        h.header("Vary", "Accept")?;
                        h.header("Content-Type", "text/plain; charset=utf-8")
                            .map(drop)
                    },
                    b"not found\n",
                )
                .await;
        }
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
    let cache = asset.caching.cache_control();
    let common = |h: &mut HeadWriter<'_>, etag: &str, enc: Encoding| -> Result<(), HeaderError> {
        h.header("ETag", etag)?;
        h.header("Cache-Control", cache)?;
        h.header("Vary", vary)?;
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

/// The asset responses as they leave the serve loop, over the scripted transport.
#[cfg(all(test, feature = "std"))]
mod tests {
    use std::string::String;

    use super::super::{serve, Handler, Outcome, Reply, ServerConfig};
    use super::*;
    use crate::assets::Caching;
    use crate::testing::{NoClock, ScriptedTransport};

    const JS: Asset = Asset {
        path: "/assets/index-BdH3kQ9x.js",
        content_type: "text/javascript; charset=utf-8",
        identity: b"console.log(1)",
        gzip: None,
        etag: "\"js\"",
        etag_gzip: "\"js-gz\"",
        caching: Caching::Immutable,
        fallback: false,
    };
    const PAGE: Asset = Asset {
        path: "/index.html",
        content_type: "text/html; charset=utf-8",
        identity: b"<!doctype html><title>app</title>",
        gzip: None,
        etag: "\"page\"",
        etag_gzip: "\"page-gz\"",
        caching: Caching::Revalidate,
        fallback: true,
    };
    const SPA: &[Asset] = &[JS, PAGE];
    const NO_SPA: &[Asset] = &[
        JS,
        Asset {
            fallback: false,
            ..PAGE
        },
    ];

    struct Site(&'static [Asset]);

    impl Handler for Site {
        type Upgrade = ();

        async fn handle<T: Transport, E: Env>(
            &self,
            ex: &mut Exchange<'_, T, E>,
        ) -> Result<Reply<()>, ServeError<T::Error>> {
            serve_asset(ex, self.0).await?;
            Ok(Reply::Done)
        }
    }

    /// The response to one request (`headers` end with CRLF each).
    fn get(site: &'static [Asset], method: &str, path: &str, headers: &str) -> String {
        let req = std::format!("{method} {path} HTTP/1.1\r\nHost: a\r\n{headers}\r\n");
        let mut io = ScriptedTransport::new(req.as_bytes());
        let mut buf = [0u8; 2048];
        let mut filled = 0;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let outcome = rt.block_on(serve(
            &mut io,
            &mut buf,
            &mut filled,
            &Site(site),
            &NoClock,
            &ServerConfig::default(),
        ));
        assert!(matches!(outcome, Ok(Outcome::Idle)), "{outcome:?}");
        String::from_utf8(io.into_output()).unwrap()
    }

    fn status(response: &str) -> &str {
        &response[9..12]
    }

    const NAVIGATION: &str = "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n";

    #[test]
    fn hashed_names_are_immutable_the_rest_revalidates() {
        let js = get(SPA, "GET", "/assets/index-BdH3kQ9x.js", "");
        assert_eq!(status(&js), "200");
        assert!(js.contains("\r\nCache-Control: public, max-age=31536000, immutable\r\n"));
        assert!(js.contains("\r\nETag: \"js\"\r\n"));
        assert!(js.contains("\r\nVary: Accept-Encoding\r\n"));
        let page = get(SPA, "GET", "/", "");
        assert_eq!(status(&page), "200");
        assert!(page.contains("\r\nCache-Control: no-cache\r\n"));
        assert!(page.ends_with("<!doctype html><title>app</title>"));
        // A revalidation of either costs no body.
        let nm = get(SPA, "GET", "/", "If-None-Match: \"page\"\r\n");
        assert_eq!(status(&nm), "304");
        assert!(nm.contains("\r\nCache-Control: no-cache\r\n"));
        assert!(nm.ends_with("\r\n\r\n"));
    }

    #[test]
    fn a_navigation_to_a_client_route_gets_the_page() {
        let r = get(SPA, "GET", "/settings/wifi", NAVIGATION);
        assert_eq!(status(&r), "200", "{r}");
        assert!(r.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"));
        assert!(r.contains("\r\nCache-Control: no-cache\r\n"));
        assert!(r.contains("\r\nETag: \"page\"\r\n"));
        assert!(r.contains("\r\nVary: Accept-Encoding, Accept\r\n"));
        assert!(r.ends_with("<!doctype html><title>app</title>"));
        // HEAD: the same head, no body.
        let h = get(SPA, "HEAD", "/settings/wifi", NAVIGATION);
        assert_eq!(status(&h), "200");
        assert!(h.ends_with("\r\n\r\n"));
        // The page's validator works on the route too.
        let nm = get(
            SPA,
            "GET",
            "/settings",
            &(NAVIGATION.to_owned() + "If-None-Match: \"page\"\r\n"),
        );
        assert_eq!(status(&nm), "304");
    }

    #[test]
    fn scripts_missing_files_and_api_paths_get_404() {
        for (path, headers) in [
            ("/settings/wifi", ""),
            ("/settings/wifi", "Accept: */*\r\n"),
            ("/settings/wifi", "Accept: application/json\r\n"),
            ("/assets/index-00000000.js", NAVIGATION),
            ("/favicon.ico", NAVIGATION),
            ("/api/settings", NAVIGATION),
        ] {
            let r = get(SPA, "GET", path, headers);
            assert_eq!(status(&r), "404", "{path} {headers:?}: {r}");
        }
        // Where the page could have answered, the 404 says it depends on Accept.
        assert!(get(SPA, "GET", "/settings/wifi", "").contains("\r\nVary: Accept\r\n"));
        assert!(!get(SPA, "GET", "/favicon.ico", "").contains("Vary"));
    }

    #[test]
    fn without_the_fallback_a_route_is_404() {
        let r = get(NO_SPA, "GET", "/settings/wifi", NAVIGATION);
        assert_eq!(status(&r), "404", "{r}");
        assert!(!r.contains("Vary"));
        assert_eq!(status(&get(NO_SPA, "GET", "/", NAVIGATION)), "200");
    }
}
