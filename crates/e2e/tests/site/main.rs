//! The demo site in a real browser: headless Chromium driven over WebDriver (chromedriver),
//! against the app served by the repository's host. Screenshots of each step are kept in
//! `target/site-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/server_process.rs"]
mod server_process;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use helpers::{Build, Registration, Sql, Target, TestApp, jpeg, spawn_app};
use serde_json::json;

/// Defines a browser test that runs on both builds, on SQLite: `name::wasi03` and
/// `name::wasi02`.
macro_rules! browser_test {
    ($(#[$doc:meta])* async fn $name:ident($app:ident: TestApp) $body:block) => {
        $(#[$doc])*
        mod $name {
            use super::*;

            async fn run($app: TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn wasi03() {
                run(spawn_app(Target { build: Build::Wasi03, sql: Sql::Sqlite, platform: None }).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn wasi02() {
                run(spawn_app(Target { build: Build::Wasi02, sql: Sql::Sqlite, platform: None }).await).await
            }
        }
    };
}
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a condition may take to come true in the page.
const PATIENCE: Duration = Duration::from_secs(15);

/// A browser session; the driver process ends with it.
struct Browser {
    client: Client,
    driver: Child,
    /// `<build>-<test>`: the screenshots' prefix.
    name: String,
    step: u32,
}

impl Browser {
    async fn open(app: &TestApp, name: &str, width: u32, height: u32) -> Self {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
            "browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        );
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                // The machine has no network but loopback: keep Chromium from trying.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", "--disable-quic", format!("--window-size={width},{height}")]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut client = None;
        for _ in 0..100 {
            // chromedriver listens on loopback: plain HTTP, no TLS stack needed.
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let client = client.expect("connecting to chromedriver");
        client
            .set_window_size(width, height)
            .await
            .expect("window size");
        Self {
            client,
            driver,
            name: format!("{:?}-{name}", app.target.build).to_lowercase(),
            step: 0,
        }
    }

    /// Saves a screenshot as `target/site-screenshots/<test>-<n>-<what>.png`.
    async fn screenshot(&mut self, what: &str) {
        self.step += 1;
        let dir = helpers::workspace_root().join("target/site-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.expect("screenshot");
        let path: PathBuf = dir.join(format!("{}-{}-{what}.png", self.name, self.step));
        std::fs::write(path, png).unwrap();
    }

    /// Evaluates `script` (a function body returning a value) until it returns true.
    async fn wait_until(&self, script: &str, what: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let value = self.client.execute(script, vec![]).await.expect("script");
            if value == json!(true) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; last value {value}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.expect("script")
    }

    /// Clicks "Show more" and waits until `cards` users are listed.
    async fn show_more(&self, cards: usize) {
        self.client
            .find(Locator::Id("show-more"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.wait_until(&format!("{CARDS} === {cards}"), "the next page")
            .await;
    }

    /// The ids of the listed users, top to bottom.
    async fn card_ids(&self) -> Vec<i64> {
        let ids = self
            .eval("return [...document.querySelectorAll('#user-list .card')].map(c => Number(c.dataset.userId))")
            .await;
        serde_json::from_value(ids).unwrap()
    }

    async fn close(self) {
        let Browser {
            client, mut driver, ..
        } = self;
        let _ = client.close().await;
        let _ = driver.kill();
        let _ = driver.wait();
    }
}

const CARDS: &str = "return document.querySelectorAll('#user-list .card:not(.skeleton)').length";

async fn fill(browser: &Browser, field: &str, value: &str) {
    let input = browser
        .client
        .find(Locator::Css(&format!("#{field}")))
        .await
        .expect(field);
    input.clear().await.expect("clear");
    input.send_keys(value).await.expect("type");
}

fn photo_file(app: &TestApp) -> String {
    let path = app.dir.path().join("me.jpg");
    std::fs::write(&path, jpeg(320, 240)).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Opens the site and waits until the form's positions have loaded.
async fn open_form(app: &TestApp, name: &'static str) -> Browser {
    let browser = Browser::open(app, name, 1280, 900).await;
    browser.client.goto(&app.url("/")).await.unwrap();
    browser
        .wait_until(
            "return document.querySelectorAll('input[name=position_id]').length === 4",
            "positions",
        )
        .await;
    browser
}

/// Types a registration into the form and chooses a real JPEG.
async fn fill_form(browser: &Browser, app: &TestApp, name: &str, email: &str, phone: &str) {
    fill(browser, "name", name).await;
    fill(browser, "email", email).await;
    fill(browser, "phone", phone).await;
    browser
        .client
        .find(Locator::Id("photo"))
        .await
        .unwrap()
        .send_keys(&photo_file(app))
        .await
        .unwrap();
}

async fn submit(browser: &Browser) {
    browser
        .client
        .find(Locator::Id("submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

browser_test! {
    async fn the_list_loads_newest_first_and_pages_to_the_end(app: TestApp) {
        app.seed(14).await;
        let mut browser = Browser::open(&app, "list", 1280, 900).await;

        browser.client.goto(&app.url("/")).await.unwrap();
        browser
            .wait_until(&format!("{CARDS} === 6"), "the first six users")
            .await;
        browser.screenshot("first-page").await;
        for expected in [12, 14] {
            browser.show_more(expected).await;
        }
        browser
            .wait_until(
                "return document.querySelector('#show-more').hidden",
                "Show more to disappear",
            )
            .await;
        browser.screenshot("all-pages").await;

        let ids = browser.card_ids().await;
        let mut newest_first = ids.clone();
        newest_first.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(ids, newest_first);
        browser.close().await;
    }
}

browser_test! {
    /// The site follows `next_url`, whose `as_of` holds the list as it was when the first
    /// page loaded: "Show more" neither repeats nor skips a user while others register.
    async fn show_more_never_repeats_a_user_while_others_register(app: TestApp) {
        app.seed(14).await;
        let (_, whole) = app.get_json("/api/v1/users?count=100").await;
        let at_start: Vec<i64> = whole["users"].as_array().unwrap().iter().map(|u| u["id"].as_i64().unwrap()).collect();
        let mut browser = Browser::open(&app, "show-more-while-registering", 1280, 900).await;

        browser.client.goto(&app.url("/")).await.unwrap();
        browser
            .wait_until(&format!("{CARDS} === 6"), "the first six users")
            .await;
        for (n, expected) in [(1, 12), (2, 14)] {
            // Newcomers before each click: without the anchor the next page would start
            // with users already shown.
            let (status, body) = app.register(&Registration::valid(n)).await;
            assert_eq!(status, 201, "{body}");
            app.seed(2).await;
            browser.show_more(expected).await;
        }
        browser
            .wait_until(
                "return document.querySelector('#show-more').hidden",
                "Show more to disappear",
            )
            .await;
        browser.screenshot("all-pages").await;

        let ids = browser.card_ids().await;
        assert_eq!(ids, at_start, "the users there were when the list loaded, each once");
        assert_eq!(app.total_users().await, 14 + 2 * 3);
        browser.close().await;
    }
}

browser_test! {
    async fn a_registration_with_a_real_jpeg_puts_the_user_first_with_a_70px_photo(app: TestApp) {
        app.seed(3).await;
        let mut browser = open_form(&app, "register").await;
        browser
            .wait_until(&format!("{CARDS} === 3"), "the list")
            .await;

        fill_form(
            &browser,
            &app,
            "Olena Browser",
            "olena.browser@example.com",
            "+380671234567",
        )
        .await;
        browser
            .client
            .find(Locator::Css("input[name=position_id][value='3']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser
            .wait_until(
                "return !document.querySelector('#photo-preview').hidden",
                "the preview",
            )
            .await;
        browser.screenshot("filled").await;
        submit(&browser).await;

        browser
            .wait_until(
                &format!("{CARDS} === 4"),
                "the list to reload with the new user",
            )
            .await;
        browser
            .wait_until(
                "const img = document.querySelector('#user-list .card .avatar'); return img.complete && img.naturalWidth > 0",
                "the new user's photo",
            )
            .await;
        browser.screenshot("registered").await;
        let first = browser
            .eval("const c = document.querySelector('#user-list .card'); const i = c.querySelector('.avatar'); return [c.querySelector('.name').textContent, c.querySelector('.position').textContent, i.naturalWidth, i.naturalHeight, document.querySelector('#name').value]")
            .await;
        assert_eq!(
            first,
            json!(["Olena Browser", "Security", 70, 70, ""]),
            "new user first, 70x70, form reset"
        );
        assert_eq!(app.total_users().await, 4);
        browser.close().await;
    }
}

browser_test! {
    async fn the_servers_messages_are_shown_by_their_fields(app: TestApp) {
        app.register(&Registration::valid(1)).await;
        let mut browser = open_form(&app, "invalid").await;

        // Each passes the page's own checks; only the server can refuse them.
        fill_form(
            &browser,
            &app,
            "Taken Phone",
            "two..dots@example.com",
            "+380500000001",
        )
        .await;
        submit(&browser).await;

        browser
            .wait_until(
                "return document.querySelector('#form-status').textContent === 'Validation failed'",
                "the server's answer",
            )
            .await;
        browser.screenshot("server-errors").await;
        let errors = browser
            .eval("return [document.querySelector('#email-error').textContent, document.querySelector('#email').getAttribute('aria-invalid'), document.activeElement.id]")
            .await;
        assert_eq!(
            errors,
            json!(["The email must be a valid email address.", "true", "email"])
        );

        fill(&browser, "email", "fresh@example.com").await;
        submit(&browser).await;
        browser
            .wait_until("return document.querySelector('#form-status').textContent === 'User with this phone or email already exist'", "the 409")
            .await;
        browser.screenshot("conflict").await;
        assert_eq!(app.total_users().await, 1);
        browser.close().await;
    }
}

browser_test! {
    async fn a_phone_sized_screen_never_scrolls_sideways(app: TestApp) {
        let mut long = Registration::valid(1);
        long.name = Some("Maximilian Alexander Konstantinopolski-Wolfeschlegelstein".into());
        long.email = Some(format!("{}@{}.example.com", "a".repeat(60), "b".repeat(26)));
        assert_eq!(app.register(&long).await.0, 201);
        app.seed(5).await;
        let mut browser = Browser::open(&app, "phone", 375, 812).await;

        browser.client.goto(&app.url("/")).await.unwrap();
        browser
            .wait_until(&format!("{CARDS} === 6"), "the list")
            .await;
        browser.screenshot("top").await;
        let overflow = browser
            .eval("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            .await;
        browser
            .eval("document.querySelector('#register').scrollIntoView(); return true")
            .await;
        browser.screenshot("form").await;

        let [scroll, client]: [u64; 2] = serde_json::from_value(overflow).unwrap();
        assert!(
            scroll <= client,
            "page is {scroll}px wide in a {client}px viewport"
        );
        browser.close().await;
    }
}
