//! Method and path: only POST, only at the mount.

use super::*;

/// GET, PUT, DELETE, PATCH: 405 with `Allow: POST`, before authentication.
pub fn rejects_non_post_with_allow<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_non_post_with_allow);
}

/// The application's own routes and 404s are untouched by the mount.
pub fn other_paths_untouched<H: Harness>() {
    let backend = TestBackend::counting();
    let server = secured::<H>(&backend);
    block_on(async {
        let health = send(&server, &Request::new("GET", HEALTH_PATH)).await;
        expect_status(&health, 200, "the app's own route");
        assert_eq!(health.text(), HEALTH_BODY);
        for path in ["/not-here", "/vwo-webhook-other", "/vwo-webhook/extra"] {
            let response = send(&server, &delivery(Some(SECRET), DOCUMENTED).path(path)).await;
            expect_status(&response, 404, path);
        }
        assert_eq!(backend.started(), 0);
    });
}
