//! The SDK's user UUID (`utils/UuidUtil.ts`): v5 of the user id in a namespace that is v5 of
//! the account id in VWO's namespace (v5 of `https://vwo.com` in the URL namespace), without
//! dashes, upper case. User lists match it, and impressions carry it as `visId`.

use uuid::Uuid;

/// `getUUID(userId, accountId)`.
pub fn user_uuid(user_id: &str, account_id: &str) -> String {
    user_uuid_in(&account_namespace(account_id), user_id)
}

/// The namespace of an account's user UUIDs (what a reporter computes once).
pub(crate) fn account_namespace(account_id: &str) -> Uuid {
    let vwo = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://vwo.com");
    Uuid::new_v5(&vwo, account_id.as_bytes())
}

/// A user's UUID in an account's namespace.
pub(crate) fn user_uuid_in(account: &Uuid, user_id: &str) -> String {
    let user = Uuid::new_v5(account, user_id.as_bytes());
    let mut buffer = Uuid::encode_buffer();
    user.simple().encode_upper(&mut buffer).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_upper_case_hex_without_dashes() {
        let id = user_uuid("user_id", "123456");
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
        assert_eq!(id, user_uuid("user_id", "123456"));
        assert_ne!(id, user_uuid("user_id", "123457"));
    }
}
