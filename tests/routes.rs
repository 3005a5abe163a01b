//! Routes: flows written as HTTP requests (`get: /shop/items/{{ id }}`) reach the endpoints their
//! routes name, and a URL no route matches, or two routes of one shape, exit 2 with the location.

mod common;

use common::{short_quickstart, stderr, surge, tmpdir};
use std::path::Path;

const ROUTES: &str = "    load_balancer: least_outstanding
    routes:
      \"GET /\": home
      \"GET /shop/{item}\": home
      \"POST /shop/checkout\": checkout
      \"GET /shop/checkout\": home
    endpoints:";

fn with_routes(dir: &Path) -> std::path::PathBuf {
    let s = short_quickstart(dir);
    let m = dir.join("model.yaml");
    let text = std::fs::read_to_string(&m).unwrap().replacen(
        "    load_balancer: least_outstanding\n    endpoints:",
        ROUTES,
        1,
    );
    assert!(
        text.contains("routes:"),
        "the quickstart model changed shape"
    );
    std::fs::write(&m, text).unwrap();
    s
}

fn run(dir: &Path, scenario: &Path, out: &str) -> std::process::Output {
    surge(
        &["run", scenario.to_str().unwrap(), "--out", out, "--quiet"],
        dir,
    )
}

#[test]
fn http_steps_run_exactly_like_the_endpoints_their_routes_name() {
    let dir = tmpdir("routes", "same");
    let by_name = with_routes(&dir);
    let text = std::fs::read_to_string(&by_name).unwrap();
    // Three request forms, one per route kind: root, parameter (template value), literal
    // beating a parameter, and a full URL with a query.
    let http = text
        .replacen("- request: home", "- get: https://shop.example/", 1)
        .replacen("- request: home", "- get: \"/shop/{{ $randomItem() }}\"", 1)
        .replacen("- request: checkout", "- post: /shop/checkout?coupon=1", 1);
    assert_ne!(http, text);
    let by_url = dir.join("by-url.yaml");
    std::fs::write(&by_url, http).unwrap();
    let a = run(&dir, &by_name, "a");
    let b = run(&dir, &by_url, "b");
    assert!(
        a.status.code().is_some_and(|c| c == 0 || c == 99),
        "{}",
        stderr(&a)
    );
    assert_eq!(a.status.code(), b.status.code(), "{}", stderr(&b));
    let sa = std::fs::read_to_string(dir.join("a/summary.json")).unwrap();
    let sb = std::fs::read_to_string(dir.join("b/summary.json")).unwrap();
    // Only the scenario's file name may differ.
    assert!(sa.contains("scenario.yaml\""));
    assert!(
        sa == sb.replace("by-url.yaml\"", "scenario.yaml\""),
        "routing changed the run"
    );
}

#[test]
fn unmatched_urls_and_ambiguous_routes_exit_2_with_their_location() {
    let dir = tmpdir("routes", "bad");
    let s = with_routes(&dir);
    let text = std::fs::read_to_string(&s).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        text.replacen("- request: checkout", "- delete: /shop/checkout", 1),
    )
    .unwrap();
    let o = run(&dir, &bad, "x");
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    for want in [
        "bad.yaml",
        "flows.buy.steps[2]",
        "DELETE /shop/checkout",
        "POST /shop/checkout → web.checkout",
    ] {
        assert!(e.contains(want), "missing {want:?} in: {e}");
    }

    let m = dir.join("model.yaml");
    let model = std::fs::read_to_string(&m).unwrap();
    std::fs::write(
        &m,
        model.replacen(
            "      \"GET /\": home\n",
            "      \"GET /\": home\n      \"get /shop/{other}\": checkout\n",
            1,
        ),
    )
    .unwrap();
    let o = run(&dir, &s, "y");
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    for want in ["model.yaml", "routes", "ambiguous"] {
        assert!(e.contains(want), "missing {want:?} in: {e}");
    }
}
