//! The metric names this crate records, in one place.

/// Failed fetches, by `kind`: a [`FetchError::kind`](crate::FetchError::kind), or
/// `invalid_json` / `invalid_document` for a document refused (a refused document still served
/// counts once, when fetched).
pub const FETCH_ERRORS: &str = "vwo_webhook_settings_fetch_errors_total";
/// When the current settings were fetched, in Unix seconds (gauge).
pub const FETCHED_AT: &str = "vwo_webhook_settings_fetched_timestamp_seconds";
/// When the origin last confirmed the settings current, in Unix seconds (gauge): alert on
/// `time() - vwo_webhook_settings_confirmed_timestamp_seconds`.
pub const CONFIRMED_AT: &str = "vwo_webhook_settings_confirmed_timestamp_seconds";
/// How old the current settings are (gauge, set by [`SettingsStore::record_age_metrics`](crate::SettingsStore::record_age_metrics)).
pub const AGE: &str = "vwo_webhook_settings_age_seconds";
/// Seconds since the last confirmed check (gauge, set by
/// [`SettingsStore::record_age_metrics`](crate::SettingsStore::record_age_metrics)).
pub const SINCE_CONFIRMED: &str = "vwo_webhook_settings_since_confirmed_seconds";
/// 1 for the `version` and `account_id` served, 0 for those served before (gauge).
pub const INFO: &str = "vwo_webhook_settings_info";
