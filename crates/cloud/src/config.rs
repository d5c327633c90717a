//! [`CloudConfig`]: endpoints, scope ids, credentials and limits, resolved from a
//! region and an (injectable) environment.

use std::time::Duration;

use crate::auth::Auth;
use crate::error::{Error, ErrorKind};
use crate::retry::RetryPolicy;
use crate::secret::Secret;

/// Environment variable overriding the SMS endpoint.
pub const ENV_SMS_ENDPOINT: &str = "MIGPLAN_SMS_ENDPOINT";
/// Environment variable overriding the DCS endpoint.
pub const ENV_DCS_ENDPOINT: &str = "MIGPLAN_DCS_ENDPOINT";
/// Environment variable holding an IAM token (used when no AK/SK pair is set).
pub const ENV_AUTH_TOKEN: &str = "MIGPLAN_AUTH_TOKEN";
/// AK/SK variable pairs, in order of precedence.
pub const ENV_AKSK_PAIRS: [(&str, &str); 2] = [
    ("HW_ACCESS_KEY", "HW_SECRET_KEY"),
    ("CLOUD_SDK_AK", "CLOUD_SDK_SK"),
];
/// Project id variables, in order of precedence.
pub const ENV_PROJECT_ID: [&str; 2] = ["HW_PROJECT_ID", "CLOUD_SDK_PROJECT_ID"];
/// Domain (account) id variables, in order of precedence.
pub const ENV_DOMAIN_ID: [&str; 2] = ["HW_DOMAIN_ID", "CLOUD_SDK_DOMAIN_ID"];

/// Everything needed to build the clients.
///
/// `Debug` is safe to log: credentials are [`Secret`]s.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CloudConfig {
    /// Region the endpoints were derived from, if any.
    pub region: Option<String>,
    /// SMS base URL, e.g. `https://sms.ap-southeast-3.myhuaweicloud.com` (no trailing `/`).
    pub sms_endpoint: String,
    /// DCS base URL, e.g. `https://dcs.ap-southeast-3.myhuaweicloud.com` (no trailing `/`).
    pub dcs_endpoint: String,
    /// Project id: in every DCS path and sent as `X-Project-Id`. Required by the DCS client.
    pub project_id: Option<String>,
    /// Account (domain) id, sent as `X-Domain-Id` to SMS (a global service) when set.
    pub domain_id: Option<String>,
    /// Credentials.
    pub auth: Auth,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// Timeout of one attempt, from sending to the end of the response body.
    pub timeout: Duration,
    /// Timeout of establishing a connection.
    pub connect_timeout: Duration,
    /// Page size for list calls; `None` uses each API's maximum. Values above an
    /// API's maximum are clamped to it. Mostly for tests.
    pub page_size: Option<u32>,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl CloudConfig {
    /// A configuration with explicit endpoints and default limits.
    pub fn new(sms_endpoint: &str, dcs_endpoint: &str, auth: Auth) -> Result<Self, Error> {
        auth.validate()?;
        Ok(Self {
            region: None,
            sms_endpoint: normalize_endpoint(sms_endpoint, "SMS endpoint")?,
            dcs_endpoint: normalize_endpoint(dcs_endpoint, "DCS endpoint")?,
            project_id: None,
            domain_id: None,
            auth,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            page_size: None,
            user_agent: concat!("migplan/", env!("CARGO_PKG_VERSION")).to_owned(),
        })
    }

    /// Both services on one base URL (the emulator serves SMS and DCS together).
    pub fn local(base_url: &str, auth: Auth) -> Result<Self, Error> {
        Self::new(base_url, base_url, auth)
    }

    /// The public endpoints of `region` (REFERENCE §6).
    pub fn for_region(region: &str, auth: Auth) -> Result<Self, Error> {
        let mut cfg = Self::new(&sms_endpoint_for(region)?, &dcs_endpoint_for(region)?, auth)?;
        cfg.region = Some(region.to_owned());
        Ok(cfg)
    }

    /// Resolves a configuration for `region` from an environment lookup
    /// (`|name| std::env::var(name).ok()` in production, a map in tests):
    ///
    /// - credentials: the first complete pair of `HW_ACCESS_KEY`/`HW_SECRET_KEY`,
    ///   `CLOUD_SDK_AK`/`CLOUD_SDK_SK`; else `MIGPLAN_AUTH_TOKEN`. Half a pair is
    ///   [`ErrorKind::MissingCredential`], nothing at all [`ErrorKind::NoCredentials`];
    /// - endpoints: from the region, overridden by `MIGPLAN_SMS_ENDPOINT` / `MIGPLAN_DCS_ENDPOINT`;
    /// - `project_id` from `HW_PROJECT_ID` / `CLOUD_SDK_PROJECT_ID`, `domain_id` from
    ///   `HW_DOMAIN_ID` / `CLOUD_SDK_DOMAIN_ID` (the plan's values can replace them
    ///   with [`with_project_id`](Self::with_project_id)).
    ///
    /// Empty variables count as unset.
    pub fn from_env(region: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let auth = auth_from_env(&get)?;
        let sms = match get(ENV_SMS_ENDPOINT) {
            Some(url) => url,
            None => sms_endpoint_for(region)?,
        };
        let dcs = match get(ENV_DCS_ENDPOINT) {
            Some(url) => url,
            None => dcs_endpoint_for(region)?,
        };
        let mut cfg = Self::new(&sms, &dcs, auth)?;
        cfg.region = Some(region.to_owned());
        cfg.project_id = ENV_PROJECT_ID.iter().find_map(|n| get(n));
        cfg.domain_id = ENV_DOMAIN_ID.iter().find_map(|n| get(n));
        Ok(cfg)
    }

    /// [`from_env`](Self::from_env) over the process environment.
    pub fn from_process_env(region: &str) -> Result<Self, Error> {
        Self::from_env(region, &|name| std::env::var(name).ok())
    }

    /// Replaces the endpoints given (flags), checked and normalised as [`new`](Self::new) does.
    pub fn with_endpoints(mut self, sms: Option<&str>, dcs: Option<&str>) -> Result<Self, Error> {
        if let Some(e) = sms {
            self.sms_endpoint = normalize_endpoint(e, "SMS endpoint")?;
        }
        if let Some(e) = dcs {
            self.dcs_endpoint = normalize_endpoint(e, "DCS endpoint")?;
        }
        Ok(self)
    }

    /// What this configuration changes, independent of how its endpoints are spelled: the
    /// project, the region, and the endpoints with the host lower-cased, every loopback
    /// spelling (`localhost`, `127.0.0.1`, `[::1]`) as one, and the port always written.
    /// Two runs with the same identity act on the same tasks.
    pub fn target_identity(&self) -> String {
        format!(
            "project={} region={} sms={} dcs={}",
            self.project_id.as_deref().unwrap_or("-"),
            self.region.as_deref().unwrap_or("-"),
            canonical_endpoint(&self.sms_endpoint),
            canonical_endpoint(&self.dcs_endpoint),
        )
    }

    /// Sets the project id.
    pub fn with_project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// Sets the domain (account) id.
    pub fn with_domain_id(mut self, domain_id: impl Into<String>) -> Self {
        self.domain_id = Some(domain_id.into());
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the page size of list calls (clamped to each API's maximum).
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size.max(1));
        self
    }

    /// Sets the per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

fn auth_from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Auth, Error> {
    let mut partial = None;
    for (ak_name, sk_name) in ENV_AKSK_PAIRS {
        match (get(ak_name), get(sk_name)) {
            (Some(ak), Some(sk)) => return Ok(Auth::aksk(ak.trim(), Secret::new(sk))),
            (Some(_), None) if partial.is_none() => partial = Some((sk_name, ak_name)),
            (None, Some(_)) if partial.is_none() => partial = Some((ak_name, sk_name)),
            _ => {}
        }
    }
    if let Some((missing, present)) = partial {
        return Err(Error::new(ErrorKind::MissingCredential {
            missing,
            present,
        }));
    }
    match get(ENV_AUTH_TOKEN) {
        Some(token) => Ok(Auth::token(Secret::new(token.trim()))),
        None => Err(Error::new(ErrorKind::NoCredentials)),
    }
}

fn validate_region(region: &str) -> Result<(), Error> {
    let ok = !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "region {region:?} is not a region code like \"ap-southeast-3\""
        )))
    }
}

/// The SMS endpoint of a region (REFERENCE §6): `https://sms.<region>.myhuaweicloud.com`,
/// except `ru-moscow-1` (`sms-api.` host) and `eu-west-101` (`.eu` domain).
pub fn sms_endpoint_for(region: &str) -> Result<String, Error> {
    validate_region(region)?;
    Ok(match region {
        "ru-moscow-1" => "https://sms-api.ru-moscow-1.myhuaweicloud.com".to_owned(),
        "eu-west-101" => "https://sms.eu-west-101.myhuaweicloud.eu".to_owned(),
        _ => format!("https://sms.{region}.myhuaweicloud.com"),
    })
}

/// The DCS endpoint of a region (REFERENCE §6): `https://dcs.<region>.myhuaweicloud.com`,
/// except `eu-west-101` (`.eu` domain, as for every service of that region).
pub fn dcs_endpoint_for(region: &str) -> Result<String, Error> {
    validate_region(region)?;
    Ok(match region {
        "eu-west-101" => "https://dcs.eu-west-101.myhuaweicloud.eu".to_owned(),
        _ => format!("https://dcs.{region}.myhuaweicloud.com"),
    })
}

/// Checks an endpoint URL (http or https, a host, no query or fragment, no
/// credentials) and removes trailing slashes. A base path is kept.
fn normalize_endpoint(raw: &str, what: &str) -> Result<String, Error> {
    let trimmed = raw.trim();
    let url = reqwest::Url::parse(trimmed)
        .map_err(|e| Error::config(format!("{what} {trimmed:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(format!(
            "{what} {trimmed:?} must use http or https"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::config(format!("{what} {trimmed:?} has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "{what} {trimmed:?} must not have a query or fragment"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Do not echo the URL: it holds credentials.
        return Err(Error::config(format!(
            "{what} must not contain credentials"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// An endpoint in one spelling: `scheme://host:port/path`, loopback hosts as `loopback`.
fn canonical_endpoint(endpoint: &str) -> String {
    let Ok(url) = reqwest::Url::parse(endpoint) else {
        return endpoint.to_owned();
    };
    let host = match url.host() {
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => "loopback".into(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => "loopback".into(),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => "loopback".into(),
        Some(h) => h.to_string().to_ascii_lowercase(),
        None => String::new(),
    };
    let port = url.port_or_known_default().unwrap_or(0);
    format!(
        "{}://{host}:{port}{}",
        url.scheme(),
        url.path().trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn identity_ignores_endpoint_spelling_but_not_the_target() {
        let ident = |sms: &str| {
            CloudConfig::new(sms, "https://dcs.example.com", Auth::token("t"))
                .expect("valid")
                .with_project_id("p1")
                .target_identity()
        };
        let a = ident("http://localhost:8980");
        assert_eq!(a, ident("http://127.0.0.1:8980/"));
        assert_eq!(a, ident("HTTP://LOCALHOST:8980//"));
        assert_eq!(a, ident("http://[::1]:8980"));
        assert_ne!(a, ident("http://127.0.0.1:8981"));
        assert_eq!(
            ident("https://sms.example.com"),
            ident("https://SMS.example.com:443/")
        );
        let other_project = CloudConfig::new(
            "http://localhost:8980",
            "https://dcs.example.com",
            Auth::token("t"),
        )
        .expect("valid")
        .with_project_id("p2")
        .target_identity();
        assert_ne!(a, other_project);
    }

    #[test]
    fn endpoint_flags_are_normalised_and_checked() {
        let cfg = CloudConfig::new(
            "https://a.example.com",
            "https://b.example.com",
            Auth::token("t"),
        )
        .expect("valid");
        let cfg = cfg
            .with_endpoints(Some("http://127.0.0.1:1/"), None)
            .expect("valid");
        assert_eq!(cfg.sms_endpoint, "http://127.0.0.1:1");
        assert!(
            cfg.clone()
                .with_endpoints(None, Some("http://u:p@h"))
                .is_err()
        );
        assert!(cfg.with_endpoints(Some("ftp://h"), None).is_err());
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn region_endpoints() {
        assert_eq!(
            sms_endpoint_for("ap-southeast-3").ok().as_deref(),
            Some("https://sms.ap-southeast-3.myhuaweicloud.com")
        );
        assert_eq!(
            sms_endpoint_for("ru-moscow-1").ok().as_deref(),
            Some("https://sms-api.ru-moscow-1.myhuaweicloud.com")
        );
        assert_eq!(
            dcs_endpoint_for("ru-moscow-1").ok().as_deref(),
            Some("https://dcs.ru-moscow-1.myhuaweicloud.com")
        );
        assert_eq!(
            dcs_endpoint_for("cn-north-4").ok().as_deref(),
            Some("https://dcs.cn-north-4.myhuaweicloud.com")
        );
        for bad in ["", "AP-SOUTHEAST-3", "a/b", "x.evil.com/", "-x"] {
            assert!(sms_endpoint_for(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn from_env_uses_hw_pair_first_and_region_endpoints() {
        let e = env(&[
            ("HW_ACCESS_KEY", "AK1"),
            ("HW_SECRET_KEY", "SK-ONE-SECRET"),
            ("CLOUD_SDK_AK", "AK2"),
            ("CLOUD_SDK_SK", "SK-TWO-SECRET"),
            ("HW_PROJECT_ID", "proj"),
        ]);
        let cfg = CloudConfig::from_env("ap-southeast-3", &e).expect("config");
        assert_eq!(cfg.auth, Auth::aksk("AK1", "SK-ONE-SECRET"));
        assert_eq!(
            cfg.sms_endpoint,
            "https://sms.ap-southeast-3.myhuaweicloud.com"
        );
        assert_eq!(
            cfg.dcs_endpoint,
            "https://dcs.ap-southeast-3.myhuaweicloud.com"
        );
        assert_eq!(cfg.project_id.as_deref(), Some("proj"));
        assert_eq!(cfg.domain_id, None);
        let dbg = format!("{cfg:?}");
        assert!(
            !dbg.contains("SK-ONE-SECRET") && !dbg.contains("SK-TWO-SECRET"),
            "{dbg}"
        );
    }

    #[test]
    fn from_env_cloud_sdk_pair_token_and_overrides() {
        let e = env(&[
            ("HW_ACCESS_KEY", ""),
            ("CLOUD_SDK_AK", "AK2"),
            ("CLOUD_SDK_SK", "SK2"),
            ("MIGPLAN_SMS_ENDPOINT", "http://127.0.0.1:8080/"),
            ("MIGPLAN_DCS_ENDPOINT", "http://localhost:9/base/"),
            ("CLOUD_SDK_DOMAIN_ID", "dom"),
        ]);
        let cfg = CloudConfig::from_env("ru-moscow-1", &e).expect("config");
        assert_eq!(cfg.auth, Auth::aksk("AK2", "SK2"));
        assert_eq!(cfg.sms_endpoint, "http://127.0.0.1:8080");
        assert_eq!(cfg.dcs_endpoint, "http://localhost:9/base");
        assert_eq!(cfg.domain_id.as_deref(), Some("dom"));

        let cfg = CloudConfig::from_env("cn-north-4", &env(&[("MIGPLAN_AUTH_TOKEN", "tok")]))
            .expect("token config");
        assert_eq!(cfg.auth, Auth::token("tok"));
    }

    #[test]
    fn missing_credentials_are_typed_errors() {
        let err = CloudConfig::from_env("cn-north-4", &env(&[])).expect_err("no creds");
        assert!(matches!(*err.kind, ErrorKind::NoCredentials));
        assert!(err.to_string().contains("HW_ACCESS_KEY"));

        let err = CloudConfig::from_env("cn-north-4", &env(&[("HW_ACCESS_KEY", "AK")]))
            .expect_err("half pair");
        assert!(matches!(
            *err.kind,
            ErrorKind::MissingCredential {
                missing: "HW_SECRET_KEY",
                present: "HW_ACCESS_KEY"
            }
        ));
        let err = CloudConfig::from_env(
            "cn-north-4",
            &env(&[("CLOUD_SDK_SK", "THE-SK"), ("MIGPLAN_AUTH_TOKEN", "t")]),
        )
        .expect_err("half pair beats token");
        assert!(matches!(
            *err.kind,
            ErrorKind::MissingCredential {
                missing: "CLOUD_SDK_AK",
                ..
            }
        ));
        assert!(!format!("{err} {err:?}").contains("THE-SK"));
    }

    #[test]
    fn bad_endpoint_overrides() {
        for bad in [
            "ftp://x",
            "not a url",
            "http://h/?q=1",
            "http://user:PASSWORD@h/",
        ] {
            let e = env(&[("MIGPLAN_AUTH_TOKEN", "t"), ("MIGPLAN_SMS_ENDPOINT", bad)]);
            let err = CloudConfig::from_env("cn-north-4", &e).expect_err(bad);
            assert!(matches!(*err.kind, ErrorKind::Config { .. }), "{bad}");
            assert!(!err.to_string().contains("PASSWORD"));
        }
    }
}
