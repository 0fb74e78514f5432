//! A page and one JSON endpoint on Portico: `cargo run -p hello`, then open the URL.
use portico::web::{Env, Outcome, Request, Route, Service, Transport};

const PAGE: &str = r#"<!doctype html><title>hello</title><p id="m">…</p>
<script>fetch("/api/hello").then(r => r.json()).then(j => m.textContent = j.message)</script>"#;

#[derive(serde::Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Clone, Copy)]
enum R {
    Page,
    Hello,
}

struct Site;

impl Service for Site {
    type Route = R;
    type Stream = ();
    const ROUTES: &'static [Route<R>] =
        &[Route::get("/", R::Page), Route::get("/api/hello", R::Hello)];

    async fn call(&self, route: R, req: &mut Request<'_, '_, impl Transport, impl Env>) -> Outcome {
        match route {
            R::Page => req.html(PAGE).await,
            R::Hello => req.json_ok(&Message { message: "hello" }).await,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:8080".into());
    println!("serving http://{addr}/");
    portico_tokio::serve(addr, Site).await
}
