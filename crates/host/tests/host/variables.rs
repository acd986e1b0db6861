//! Variables and the guest environment.

use crate::support::{MANIFEST, Options, TestApp};

#[tokio::test]
async fn a_component_variable_expands_the_application_default() {
    let app = TestApp::start().await;

    let body = app.json("/all/variable?name=greeting").await;

    assert_eq!(body, serde_json::json!({ "Ok": "hello, world" }));
}

#[tokio::test]
async fn a_provided_value_overrides_the_default() {
    let app = TestApp::start_with(Options {
        variables: [("greeting".to_owned(), "hi".to_owned())].into(),
        ..Options::default()
    })
    .await;

    let body = app.json("/all/variable?name=greeting").await;

    assert_eq!(body, serde_json::json!({ "Ok": "hi, world" }));
}

#[tokio::test]
async fn variables_a_component_does_not_declare_are_undefined() {
    let app = TestApp::start().await;

    let undeclared = app.json("/bare/variable?name=greeting").await;
    let invalid = app.json("/all/variable?name=Not-Valid").await;

    assert!(
        undeclared["Err"].to_string().contains("Undefined"),
        "{undeclared}"
    );
    assert!(
        invalid["Err"].to_string().contains("InvalidName"),
        "{invalid}"
    );
}

#[tokio::test]
async fn a_required_variable_without_a_value_stops_start_up() {
    let manifest = MANIFEST.replace(
        "greeting = { default = \"hello\" }",
        "greeting = { required = true }",
    );
    let dir = tempfile::TempDir::new().unwrap();

    let result = TestApp::start_in(
        dir,
        Options {
            manifest,
            ..Options::default()
        },
    )
    .await;

    let error = format!("{:#}", result.err().expect("start-up must fail"));
    assert!(error.contains("SPIN_VARIABLE_GREETING"), "{error}");
}

#[tokio::test]
async fn the_component_environment_is_visible_to_the_guest() {
    let app = TestApp::start().await;

    assert_eq!(app.json("/all/env?name=FOO").await, "bar");
    assert_eq!(
        app.json("/bare/env?name=FOO").await,
        serde_json::Value::Null
    );
}
