//! The SDK's user UUID (`utils/UuidUtil.ts`): v5 of the user id in a namespace that is v5 of
//! the account id in VWO's namespace (v5 of `https://vwo.com` in the URL namespace), without
//! dashes, upper case. User lists match it, and impressions carry it as `visId`.

use uuid::Uuid;

/// `getUUID(userId, accountId)`.
pub fn user_uuid(user_id: &str, account_id: &str) -> String {
    let vwo = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://vwo.com");
    let account = Uuid::new_v5(&vwo, account_id.as_bytes());
    let user = Uuid::new_v5(&account, user_id.as_bytes());
    user.simple().to_string().to_uppercase()
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
