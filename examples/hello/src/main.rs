//! An LED switch on a page, on Portico: `cargo run -p hello`, then open http://127.0.0.1:8080/.
use portico::web::{get, put, Env, Outcome, Request, Route, Service, Transport};
use std::cell::Cell;

const PAGE: &str = r#"<!doctype html><title>LED</title><label><input type=checkbox id=on> LED</label><script>
on.onchange = () => fetch("/on", {method: "PUT", headers: {"Content-Type": "application/json"}, body: on.checked});
fetch("/on").then(r => r.json()).then(v => on.checked = v)</script>"#;

#[derive(Clone, Copy)]
enum R {
    Page,
    Get,
    Put,
}

struct Led(Cell<bool>);

impl Service for Led {
    type Route = R;
    type Stream = ();
    const ROUTES: &'static [Route<R>] =
        &[get("/", R::Page), get("/on", R::Get), put("/on", R::Put)];

    async fn call(&self, route: R, req: &mut Request<'_, '_, impl Transport, impl Env>) -> Outcome {
        match route {
            R::Page => req.html(PAGE).await,
            R::Get => req.json_ok(&self.0.get()).await,
            R::Put => {
                self.0.set(req.json().await?);
                req.no_content().await
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    portico_tokio::serve("127.0.0.1:8080", Led(Cell::new(false))).await
}
