//! `App` installs a default subscriber when none is in effect, unless told not to. (Its own
//! test binary: the global subscriber can be set once per process.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kratos::App;

fn app() -> App {
    App::new().name("defaulted").server(
        kratos::http::Server::builder()
            .address("127.0.0.1:0")
            .build(),
    )
}

#[tokio::test]
async fn the_app_installs_a_subscriber_only_when_none_is_set_and_not_told_otherwise() {
    assert!(!tracing::dispatcher::has_been_set());
    // Opted out: nothing is installed.
    app()
        .default_subscriber(false)
        .run_until(async { Ok(()) })
        .await
        .unwrap();
    assert!(!tracing::dispatcher::has_been_set());
    // By default the app's logger becomes the global subscriber.
    app().run_until(async { Ok(()) }).await.unwrap();
    assert!(tracing::dispatcher::has_been_set());
}
