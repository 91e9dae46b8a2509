//! The names a clinic may add to the PCs own (`allowed_hosts`): checked when the setting is
//! saved, read by the API's Host check.

use std::net::IpAddr;

/// The `allowed_hosts` setting's names, lowercased.
pub fn extra_names(extra: &str) -> impl Iterator<Item = String> + '_ {
    extra
        .split([',', ' ', ';'])
        .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|n| !n.is_empty())
}

/// Checks one name of the `allowed_hosts` setting: a DNS name or an address, no port.
pub fn check_extra_name(name: &str) -> Result<(), String> {
    if name.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let ok = name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a host name or address such as reception.clinic.local or 10.0.0.5 (no port, no scheme)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_names_are_checked() {
        check_extra_name("reception.clinic.local").unwrap();
        check_extra_name("10.0.0.5").unwrap();
        for bad in ["http://x", "x:8787", "-x", "a..b", "имя", &"a".repeat(64)] {
            assert!(check_extra_name(bad).is_err(), "{bad}");
        }
    }
}
