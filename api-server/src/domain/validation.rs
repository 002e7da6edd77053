//! Field checks shared by request bodies. Each returns a message fit for a user.

/// A display name: 1–100 characters, no control characters, not only spaces.
pub fn display_name(field: &str, value: &str) -> Result<(), String> {
    let n = value.chars().count();
    if value.trim().is_empty() || n > 100 {
        return Err(format!("{field} must be 1 to 100 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(())
}

/// A slug: 3–40 of `a-z 0-9 -`, starting with a letter, not ending with `-`
/// (so it can name a Kubernetes namespace or DNS label).
pub fn slug(field: &str, value: &str) -> Result<(), String> {
    let ok_len = (3..=40).contains(&value.len());
    let ok_chars = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ok_ends = value.starts_with(|c: char| c.is_ascii_lowercase()) && !value.ends_with('-');
    if ok_len && ok_chars && ok_ends {
        Ok(())
    } else {
        Err(format!(
            "{field} must be 3 to 40 characters of a-z, 0-9 and '-', start with a letter and not end with '-'"
        ))
    }
}

/// An e-mail address in the plain `local@domain` form, at most 254 characters.
pub fn email(field: &str, value: &str) -> Result<(), String> {
    let valid = value.len() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
                && !domain.contains('@')
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{field} must be an e-mail address like name@example.com"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        assert!(display_name("name", "Acme Corp").is_ok());
        assert!(display_name("name", "  ").is_err());
        assert!(display_name("name", &"x".repeat(101)).is_err());
        assert!(display_name("name", "a\u{7}b").is_err());
        assert!(slug("slug", "acme-1").is_ok());
        for bad in ["ab", "Acme", "1acme", "acme-", "ac_me", &"a".repeat(41)] {
            assert!(slug("slug", bad).is_err(), "{bad}");
        }
        assert!(email("email", "a@b.io").is_ok());
        for bad in ["a", "@b.io", "a@b", "a b@c.io", "a@b@c.io", "a@.io"] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }
}
