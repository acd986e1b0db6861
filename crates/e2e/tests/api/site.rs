//! The demo site's assets, served by the `site` component at `/`.

use crate::e2e_test;
use crate::helpers::spawn_app;

e2e_test! {
    async fn the_site_is_served_with_revalidation_and_a_strict_policy(target: Target) {
        let app = spawn_app(target).await;

        for (path, content_type) in [
            ("/", "text/html; charset=utf-8"),
            ("/style.css", "text/css; charset=utf-8"),
            ("/app.js", "text/javascript; charset=utf-8"),
        ] {
            let response = app.get(path).await;
            let headers = response.headers().clone();
            let etag = headers["etag"].to_str().unwrap().to_owned();
            let again = app.client.get(app.url(path)).header("If-None-Match", &etag).send().await.unwrap();

            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(headers["content-type"], content_type);
            assert_eq!(headers["cache-control"], "no-cache");
            assert!(headers["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
            assert_eq!(again.status(), 304, "{path}");
        }
        let html = app.get("/").await.text().await.unwrap();
        assert!(html.contains("/app.js") && !html.contains("http://") && !html.contains("https://"),
            "no external resources");
    }
}
