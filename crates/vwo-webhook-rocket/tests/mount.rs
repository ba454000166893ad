//! Mounting details the conformance suite (which uses the default path and limits) does not
//! cover, through rocket's local client.

use rocket::data::{Limits, ToByteUnit};
use rocket::error::ErrorKind;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket, post};
use vwo_webhook::Receiver;
use vwo_webhook_conformance::TestBackend;
use vwo_webhook_conformance::cases::{SECRET, secured_receiver};
use vwo_webhook_rocket::{Webhook, WebhookRejection, WebhookResponse};

const NOTICE: &str = r#"{"timestamp":1606482285,"event":"settings_changed"}"#;

fn receiver(path: &str) -> Receiver {
    secured_receiver(&TestBackend::counting(), |b| b.path(path))
}

fn app(path: &str) -> Rocket<Build> {
    rocket::build().attach(vwo_webhook_rocket::fairing(receiver(path)))
}

fn with_limit(rocket: Rocket<Build>, limit: rocket::data::ByteUnit) -> Rocket<Build> {
    let figment = rocket.figment().clone().merge((
        "limits",
        Limits::default().limit(vwo_webhook_rocket::LIMIT_NAME, limit),
    ));
    rocket.configure(figment)
}

async fn ignite(rocket: Rocket<Build>) -> Client {
    Client::untracked(rocket).await.expect("rocket ignites")
}

async fn deliver(client: &Client, path: &str, body: impl AsRef<[u8]>) -> (Status, String) {
    let response = client
        .post(path.to_owned())
        .header(Header::new("x-vwo-auth", SECRET))
        .body(body)
        .dispatch()
        .await;
    let status = response.status();
    (status, response.into_string().await.unwrap_or_default())
}

#[rocket::async_test]
async fn mounts_at_the_configured_path_for_every_method() {
    let client = ignite(app("/hooks/vwo")).await;
    assert_eq!(deliver(&client, "/hooks/vwo", NOTICE).await.0, Status::Ok);
    assert_eq!(deliver(&client, "/vwo-webhook", NOTICE).await.0, Status::NotFound);
    // Not a rocket catcher's HTML: the core's JSON 405 with its Allow header.
    let get = client.get("/hooks/vwo").dispatch().await;
    assert_eq!(get.status(), Status::MethodNotAllowed);
    assert_eq!(get.headers().get_one("allow"), Some("POST"));
    assert_eq!(get.headers().get_one("content-type"), Some("application/json"));
}

#[rocket::async_test]
async fn routes_mount_under_a_base_path_and_so_does_the_fairing() {
    let client =
        ignite(rocket::build().mount("/api", vwo_webhook_rocket::routes(receiver("/vwo-webhook")))).await;
    assert_eq!(deliver(&client, "/api/vwo-webhook", NOTICE).await.0, Status::Ok);
    assert_eq!(deliver(&client, "/vwo-webhook", NOTICE).await.0, Status::NotFound);
    let get = client.get("/api/vwo-webhook").dispatch().await;
    assert_eq!(get.status(), Status::MethodNotAllowed);
    assert_eq!(get.headers().get_one("allow"), Some("POST"));

    let based = rocket::build().attach(vwo_webhook_rocket::fairing(receiver("/vwo-webhook")).base("/api"));
    let client = ignite(with_limit(based, 16.bytes())).await;
    let (status, body) = deliver(&client, "/api/vwo-webhook", NOTICE).await;
    assert_eq!(
        status,
        Status::PayloadTooLarge,
        "the fairing applies the named limit: {body}"
    );
    assert_eq!(deliver(&client, "/vwo-webhook", NOTICE).await.0, Status::NotFound);
}

#[rocket::async_test]
async fn routes_alone_keep_the_receivers_own_limit() {
    let rocket = rocket::build().mount("/", vwo_webhook_rocket::routes(receiver("/vwo-webhook")));
    let client = ignite(with_limit(rocket, 16.bytes())).await;
    assert_eq!(deliver(&client, "/vwo-webhook", NOTICE).await.0, Status::Ok);
}

#[rocket::async_test]
async fn the_named_limit_replaces_the_receivers_own() {
    let client = ignite(with_limit(app("/vwo-webhook"), 16.bytes())).await;
    let (status, body) = deliver(&client, "/vwo-webhook", NOTICE).await;
    assert_eq!(status, Status::PayloadTooLarge);
    assert!(body.contains("16 bytes"), "{body}");

    // Raised over the receiver's 64 KiB, a 100 KiB body (the notice after whitespace) passes.
    let client = ignite(with_limit(app("/vwo-webhook"), 1.mebibytes())).await;
    let padded = format!("{}{NOTICE}", " ".repeat(100 << 10));
    assert_eq!(deliver(&client, "/vwo-webhook", padded).await.0, Status::Ok);
}

#[rocket::async_test]
async fn bad_configuration_fails_the_launch_instead_of_panicking() {
    for (what, rocket) in [
        ("a zero limit", with_limit(app("/vwo-webhook"), 0.bytes())),
        ("a path rocket cannot route", app("/hooks/<id>")),
        (
            "a base rocket cannot route",
            rocket::build().attach(vwo_webhook_rocket::fairing(receiver("/vwo-webhook")).base("no-slash")),
        ),
    ] {
        match Client::untracked(rocket).await {
            // Inspecting the kind marks rocket's error as handled (it panics on drop otherwise).
            Err(error) => match error.kind() {
                ErrorKind::FailedFairings(failed) => {
                    assert_eq!(failed[0].name, "vwo-webhook", "{what}");
                }
                other => panic!("{what}: {other:?}"),
            },
            Ok(_) => panic!("{what} must fail ignition"),
        }
    }
}

#[post("/custom", data = "<webhook>")]
async fn custom(webhook: Result<Webhook, WebhookRejection>) -> WebhookResponse {
    match webhook {
        Ok(webhook) => webhook.respond().await,
        Err(rejection) => rejection.into(),
    }
}

#[rocket::async_test]
async fn the_guard_answers_with_the_cores_json() {
    let rocket = rocket::build()
        .manage(receiver("/vwo-webhook"))
        .mount("/", rocket::routes![custom]);
    let client = ignite(rocket).await;
    assert_eq!(deliver(&client, "/custom", NOTICE).await.0, Status::Ok);
    let wrong = client
        .post("/custom")
        .header(Header::new("x-vwo-auth", "nope"))
        .body(NOTICE)
        .dispatch()
        .await;
    assert_eq!(wrong.status(), Status::Unauthorized);
    assert_eq!(
        wrong.into_string().await.as_deref(),
        Some(r#"{"status":"error","message":"missing or invalid webhook credentials"}"#)
    );
    let (status, body) = deliver(&client, "/custom", "[1]").await;
    assert_eq!(status, Status::BadRequest);
    assert!(body.contains("invalid webhook payload"), "{body}");
}

#[rocket::async_test]
async fn the_guard_without_a_managed_receiver_is_a_clear_500() {
    let client = ignite(rocket::build().mount("/", rocket::routes![custom])).await;
    let (status, body) = deliver(&client, "/custom", NOTICE).await;
    assert_eq!(status, Status::InternalServerError);
    assert!(body.contains("no vwo-webhook receiver is configured"), "{body}");
}

#[rocket::async_test]
async fn the_fairing_manages_the_receiver_for_the_guard_unless_one_is_managed() {
    // The fairing alone is enough for a guard route of the application's own.
    let attached = rocket::build().mount("/", rocket::routes![custom]);
    let client = ignite(attached.attach(vwo_webhook_rocket::fairing(receiver("/vwo-webhook")))).await;
    assert_eq!(deliver(&client, "/custom", NOTICE).await.0, Status::Ok);
    // A receiver the application manages itself is kept, and ignition does not fail.
    let own = vwo_webhook::adapter::with_body_limit(receiver("/vwo-webhook"), 8).expect("limit");
    let both = rocket::build()
        .manage(own)
        .mount("/", rocket::routes![custom])
        .attach(vwo_webhook_rocket::fairing(receiver("/hooks/vwo")));
    let client = ignite(both).await;
    assert_eq!(
        deliver(&client, "/custom", NOTICE).await.0,
        Status::PayloadTooLarge
    );
    assert_eq!(deliver(&client, "/hooks/vwo", NOTICE).await.0, Status::Ok);
}
