//! Any bytes as a webhook body: parsing answers Ok or a `PayloadError`, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vwo_webhook::SettingsChanged;

fuzz_target!(|data: &[u8]| {
    if let Ok(notice) = SettingsChanged::from_slice(data) {
        // What parses is a JSON object.
        assert!(data.iter().any(|b| *b == b'{'));
        let _ = notice.action.as_ref().map(|a| a.as_str().len());
    }
});
