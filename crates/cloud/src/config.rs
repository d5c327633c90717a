//! [`CloudConfig`]: endpoints, scope ids, credentials and limits, resolved from a
//! region and an (injectable) environment.

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::Auth;
use crate::error::{Error, ErrorKind};
use crate::metadata::MetadataCredentials;
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
/// Security token variables of temporary AK/SK credentials, in order of precedence (used
/// with whichever AK/SK pair is chosen).
pub const ENV_SECURITY_TOKEN: [&str; 2] = ["HW_SECURITY_TOKEN", "CLOUD_SDK_SECURITY_TOKEN"];
/// `1`/`true` turns on credentials from the ECS/CCE metadata service, the last link of
/// the chain (used only when the environment holds no credentials).
pub const ENV_METADATA: &str = "MIGPLAN_METADATA";
/// Base URL of the metadata service (default `http://169.254.169.254`); setting it also
/// turns the metadata source on, unless `MIGPLAN_METADATA` is `0`/`false`.
pub const ENV_METADATA_ENDPOINT: &str = "MIGPLAN_METADATA_ENDPOINT";
/// PEM file of extra CA certificates trusted for the API endpoints (added to the system
/// roots), in order of precedence.
pub const ENV_CA_BUNDLE: [&str; 2] = ["MIGPLAN_CA_BUNDLE", "SSL_CERT_FILE"];
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
    /// Proxies and the hosts that bypass them; `None` sends every request directly.
    pub proxy: Option<ProxyConfig>,
    /// A PEM file of extra CA certificates trusted in addition to the system roots.
    pub ca_bundle: Option<PathBuf>,
    /// Called before each retry (see [`RetryNotice`](crate::retry::RetryNotice)).
    pub on_retry: Option<crate::retry::OnRetry>,
}

/// Proxy settings, read from the usual variables by [`CloudConfig::from_env`].
/// The metadata service is never reached through a proxy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// Proxy for `https://` endpoints (`HTTPS_PROXY`, else `ALL_PROXY`).
    pub https: Option<String>,
    /// Proxy for `http://` endpoints (`HTTP_PROXY`, else `ALL_PROXY`).
    pub http: Option<String>,
    /// Hosts, domains (`.example.com`), IPs or CIDRs that bypass the proxy (`NO_PROXY`).
    pub no_proxy: Option<String>,
}

impl ProxyConfig {
    /// Reads `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (or their lower-case
    /// forms) from an environment lookup; `None` when no proxy is set.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<Self> {
        let get = |upper: &str| {
            env(upper)
                .or_else(|| env(&upper.to_ascii_lowercase()))
                .filter(|v| !v.trim().is_empty())
                .map(|v| v.trim().to_owned())
        };
        let all = get("ALL_PROXY");
        let cfg = ProxyConfig {
            https: get("HTTPS_PROXY").or_else(|| all.clone()),
            http: get("HTTP_PROXY").or(all),
            no_proxy: get("NO_PROXY"),
        };
        (cfg.https.is_some() || cfg.http.is_some()).then_some(cfg)
    }
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
            proxy: None,
            ca_bundle: None,
            on_retry: None,
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
    /// - credentials, a chain whose first source that is set wins:
    ///   1. the environment: the first complete pair of `HW_ACCESS_KEY`/`HW_SECRET_KEY`,
    ///      `CLOUD_SDK_AK`/`CLOUD_SDK_SK`, with `HW_SECURITY_TOKEN` /
    ///      `CLOUD_SDK_SECURITY_TOKEN` for temporary keys; else `MIGPLAN_AUTH_TOKEN`.
    ///      Half a pair, or a security token without a pair, is
    ///      [`ErrorKind::MissingCredential`];
    ///   2. the ECS/CCE metadata service, only when turned on with `MIGPLAN_METADATA=1` or
    ///      `MIGPLAN_METADATA_ENDPOINT=URL` (nothing is contacted here: credentials are
    ///      fetched on first use, and refreshed before they expire);
    ///
    ///   nothing at all is [`ErrorKind::NoCredentials`], whose message names each source;
    /// - endpoints: from the region, overridden by `MIGPLAN_SMS_ENDPOINT` / `MIGPLAN_DCS_ENDPOINT`;
    /// - proxies from `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY`
    ///   ([`ProxyConfig::from_env`]); extra CA certificates from the PEM file in
    ///   `MIGPLAN_CA_BUNDLE`, else `SSL_CERT_FILE`;
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
        cfg.proxy = ProxyConfig::from_env(env);
        cfg.ca_bundle = ENV_CA_BUNDLE
            .iter()
            .find_map(|n| get(n))
            .map(|p| PathBuf::from(p.trim()));
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

    /// Sets the timeout of establishing a connection.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Calls `hook` before each retry, with what failed and how long the wait is.
    pub fn with_on_retry(
        mut self,
        hook: impl Fn(&crate::retry::RetryNotice) + Send + Sync + 'static,
    ) -> Self {
        self.on_retry = Some(crate::retry::OnRetry(std::sync::Arc::new(hook)));
        self
    }
}

fn auth_from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Auth, Error> {
    let security_token = ENV_SECURITY_TOKEN
        .iter()
        .find_map(|n| get(n).map(|t| (*n, t)));
    let mut partial = None;
    for (ak_name, sk_name) in ENV_AKSK_PAIRS {
        match (get(ak_name), get(sk_name)) {
            (Some(ak), Some(sk)) => {
                let sk = Secret::new(sk);
                return Ok(match security_token {
                    Some((_, token)) => Auth::temporary(ak.trim(), sk, Secret::new(token.trim())),
                    None => Auth::aksk(ak.trim(), sk),
                });
            }
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
    if let Some((present, _)) = security_token {
        // A security token belongs to a temporary AK/SK pair: never send it alone, and
        // never silently fall back to another source.
        return Err(Error::new(ErrorKind::MissingCredential {
            missing: ENV_AKSK_PAIRS[0].0,
            present,
        }));
    }
    if let Some(token) = get(ENV_AUTH_TOKEN) {
        return Ok(Auth::token(Secret::new(token.trim())));
    }
    let switch = match get(ENV_METADATA).map(|v| v.trim().to_ascii_lowercase()) {
        None => None,
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Some(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Some(false),
        Some(_) => {
            return Err(Error::config(format!(
                "{ENV_METADATA} must be 1/true or 0/false"
            )));
        }
    };
    let endpoint = get(ENV_METADATA_ENDPOINT);
    match (switch, endpoint) {
        (Some(false), _) | (None, None) => Err(Error::new(ErrorKind::NoCredentials)),
        (_, Some(url)) => Auth::metadata(&url),
        (Some(true), None) => Auth::metadata(MetadataCredentials::DEFAULT_ENDPOINT),
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

/// The regions that serve SMS, with their endpoints: the SMS region table of the official
/// SDKs (huaweicloudsdksms 3.1.219 `sms_region.py`: cn-north-4, ap-southeast-3,
/// my-kualalumpur-1, ru-moscow-1), plus eu-west-101 (the EU site, in older SDK tables).
pub const SMS_REGIONS: [(&str, &str); 5] = [
    ("cn-north-4", "https://sms.cn-north-4.myhuaweicloud.com"),
    (
        "ap-southeast-3",
        "https://sms.ap-southeast-3.myhuaweicloud.com",
    ),
    (
        "my-kualalumpur-1",
        "https://sms.my-kualalumpur-1.myhuaweicloud.com",
    ),
    (
        "ru-moscow-1",
        "https://sms-api.ru-moscow-1.myhuaweicloud.com",
    ),
    ("eu-west-101", "https://sms.eu-west-101.myhuaweicloud.eu"),
];

/// The SMS endpoint that serves targets in `region` (REFERENCE §6).
///
/// SMS is a global service served from a few regions, the target region travels in the
/// task body. A region of [`SMS_REGIONS`] uses its own endpoint; any other Chinese
/// mainland region (`cn-…`) is served from cn-north-4 (the Chinese site's only SMS
/// endpoint), and every other region from ap-southeast-3 (the international site's). So a
/// plan for, say, `la-south-2` talks to `sms.ap-southeast-3…`, never to a
/// `sms.la-south-2…` host that does not exist. `MIGPLAN_SMS_ENDPOINT` / `--sms-endpoint`
/// override this.
pub fn sms_endpoint_for(region: &str) -> Result<String, Error> {
    validate_region(region)?;
    let serving = if SMS_REGIONS.iter().any(|(r, _)| *r == region) {
        region
    } else if region.starts_with("cn-") {
        "cn-north-4"
    } else {
        "ap-southeast-3"
    };
    Ok(SMS_REGIONS
        .iter()
        .find(|(r, _)| *r == serving)
        .map(|(_, url)| (*url).to_owned())
        .unwrap_or_else(|| format!("https://sms.{serving}.myhuaweicloud.com")))
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
pub(crate) fn normalize_endpoint(raw: &str, what: &str) -> Result<String, Error> {
    let trimmed = raw.trim();
    let url = reqwest::Url::parse(trimmed).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => Error::config(format!(
            "{what} {trimmed:?} has no scheme: write https://{trimmed} (or http:// for a local \
             emulator)"
        )),
        // A host:port with a dotted host reads as an unknown scheme, which the check below
        // names; other parse errors are shown as they are.
        e => Error::config(format!("{what} {trimmed:?} is not a URL: {e}")),
    })?;
    if !trimmed.contains("://") {
        // `localhost:8980` parses as the scheme `localhost`: say what is really missing.
        return Err(Error::config(format!(
            "{what} {trimmed:?} has no scheme: write https://{trimmed} (or http:// for a local \
             emulator)"
        )));
    }
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
    fn an_endpoint_without_a_scheme_says_so() {
        for bare in ["127.0.0.1:9", "localhost:8980", "sms.example.com"] {
            let err = CloudConfig::new(bare, "https://b.example.com", Auth::token("t"))
                .expect_err(bare)
                .to_string();
            assert!(err.contains("has no scheme"), "{bare}: {err}");
            assert!(!err.contains("relative URL"), "{bare}: {err}");
        }
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
        // Regions without SMS are served from their site's SMS region; DCS stays regional.
        for (region, sms) in [
            ("cn-north-4", "https://sms.cn-north-4.myhuaweicloud.com"),
            ("cn-east-3", "https://sms.cn-north-4.myhuaweicloud.com"),
            ("cn-south-1", "https://sms.cn-north-4.myhuaweicloud.com"),
            (
                "my-kualalumpur-1",
                "https://sms.my-kualalumpur-1.myhuaweicloud.com",
            ),
            ("eu-west-101", "https://sms.eu-west-101.myhuaweicloud.eu"),
            ("la-south-2", "https://sms.ap-southeast-3.myhuaweicloud.com"),
            ("af-south-1", "https://sms.ap-southeast-3.myhuaweicloud.com"),
            (
                "ap-southeast-1",
                "https://sms.ap-southeast-3.myhuaweicloud.com",
            ),
            ("tr-west-1", "https://sms.ap-southeast-3.myhuaweicloud.com"),
        ] {
            assert_eq!(
                sms_endpoint_for(region).ok().as_deref(),
                Some(sms),
                "{region}"
            );
        }
        assert_eq!(
            dcs_endpoint_for("la-south-2").ok().as_deref(),
            Some("https://dcs.la-south-2.myhuaweicloud.com")
        );
        let cfg = CloudConfig::from_env("la-south-2", &env(&[("MIGPLAN_AUTH_TOKEN", "t")]))
            .expect("config");
        assert_eq!(
            cfg.sms_endpoint,
            "https://sms.ap-southeast-3.myhuaweicloud.com"
        );
        assert_eq!(cfg.region.as_deref(), Some("la-south-2"));
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
    fn security_token_goes_with_the_chosen_pair() {
        let cfg = CloudConfig::from_env(
            "cn-north-4",
            &env(&[
                ("CLOUD_SDK_AK", "AK2"),
                ("CLOUD_SDK_SK", "SK2"),
                ("CLOUD_SDK_SECURITY_TOKEN", " STS-SECRET "),
            ]),
        )
        .expect("config");
        assert_eq!(cfg.auth, Auth::temporary("AK2", "SK2", "STS-SECRET"));
        let cfg = CloudConfig::from_env(
            "cn-north-4",
            &env(&[
                ("HW_ACCESS_KEY", "AK1"),
                ("HW_SECRET_KEY", "SK1"),
                ("HW_SECURITY_TOKEN", "STS-1"),
                ("CLOUD_SDK_SECURITY_TOKEN", "STS-2"),
            ]),
        )
        .expect("config");
        assert_eq!(cfg.auth, Auth::temporary("AK1", "SK1", "STS-1"));
        assert!(!format!("{cfg:?}").contains("STS-1"));

        // A token without a pair is an error naming both, even with a fallback present.
        let err = CloudConfig::from_env(
            "cn-north-4",
            &env(&[
                ("HW_SECURITY_TOKEN", "STS-SECRET"),
                ("MIGPLAN_AUTH_TOKEN", "t"),
                ("MIGPLAN_METADATA", "1"),
            ]),
        )
        .expect_err("token alone");
        assert!(matches!(
            *err.kind,
            ErrorKind::MissingCredential {
                missing: "HW_ACCESS_KEY",
                present: "HW_SECURITY_TOKEN"
            }
        ));
        assert!(!format!("{err} {err:?}").contains("STS-SECRET"));
    }

    #[test]
    fn metadata_is_the_last_link_and_opt_in() {
        // Off unless asked: nothing configured is NoCredentials, naming every source.
        let err = CloudConfig::from_env("cn-north-4", &env(&[])).expect_err("none");
        let text = err.to_string();
        for source in [
            "HW_ACCESS_KEY",
            "HW_SECURITY_TOKEN",
            "MIGPLAN_AUTH_TOKEN",
            "MIGPLAN_METADATA=1",
        ] {
            assert!(text.contains(source), "{source}: {text}");
        }
        let on = |pairs: &[(&str, &str)]| {
            CloudConfig::from_env("cn-north-4", &env(pairs)).map(|c| c.auth)
        };
        // Turned on: the default link-local endpoint (nothing is contacted here).
        assert!(matches!(
            on(&[("MIGPLAN_METADATA", "true")]),
            Ok(Auth::Metadata(m)) if m.endpoint() == "http://169.254.169.254"
        ));
        // An endpoint override turns it on too, unless explicitly off.
        assert!(matches!(
            on(&[("MIGPLAN_METADATA_ENDPOINT", "http://127.0.0.1:9/")]),
            Ok(Auth::Metadata(m)) if m.endpoint() == "http://127.0.0.1:9"
        ));
        assert!(matches!(
            on(&[("MIGPLAN_METADATA", "0"), ("MIGPLAN_METADATA_ENDPOINT", "http://127.0.0.1:9")])
                .map_err(|e| e.kind),
            Err(k) if matches!(*k, ErrorKind::NoCredentials)
        ));
        assert!(on(&[("MIGPLAN_METADATA", "maybe")]).is_err());
        assert!(on(&[("MIGPLAN_METADATA_ENDPOINT", "ftp://x")]).is_err());
        // The environment comes first.
        assert_eq!(
            on(&[
                ("MIGPLAN_METADATA", "1"),
                ("HW_ACCESS_KEY", "A"),
                ("HW_SECRET_KEY", "S")
            ])
            .ok(),
            Some(Auth::aksk("A", "S"))
        );
        assert_eq!(
            on(&[("MIGPLAN_METADATA", "1"), ("MIGPLAN_AUTH_TOKEN", "t")]).ok(),
            Some(Auth::token("t"))
        );
    }

    #[test]
    fn proxies_and_ca_bundle_from_env() {
        let cfg = CloudConfig::from_env(
            "cn-north-4",
            &env(&[
                ("MIGPLAN_AUTH_TOKEN", "t"),
                ("https_proxy", "http://proxy.corp:3128"),
                ("NO_PROXY", "localhost,.internal"),
                ("SSL_CERT_FILE", "/etc/ssl/corp.pem"),
            ]),
        )
        .expect("config");
        let proxy = cfg.proxy.as_ref().expect("proxy");
        assert_eq!(proxy.https.as_deref(), Some("http://proxy.corp:3128"));
        assert_eq!(proxy.http, None);
        assert_eq!(proxy.no_proxy.as_deref(), Some("localhost,.internal"));
        assert_eq!(
            cfg.ca_bundle.as_deref(),
            Some(std::path::Path::new("/etc/ssl/corp.pem"))
        );
        let cfg = CloudConfig::from_env(
            "cn-north-4",
            &env(&[
                ("MIGPLAN_AUTH_TOKEN", "t"),
                ("ALL_PROXY", "http://all:1"),
                ("HTTP_PROXY", "http://plain:2"),
                ("MIGPLAN_CA_BUNDLE", "/a.pem"),
                ("SSL_CERT_FILE", "/b.pem"),
            ]),
        )
        .expect("config");
        let proxy = cfg.proxy.as_ref().expect("proxy");
        assert_eq!(proxy.https.as_deref(), Some("http://all:1"));
        assert_eq!(proxy.http.as_deref(), Some("http://plain:2"));
        assert_eq!(
            cfg.ca_bundle.as_deref(),
            Some(std::path::Path::new("/a.pem"))
        );
        let cfg = CloudConfig::from_env(
            "cn-north-4",
            &env(&[("MIGPLAN_AUTH_TOKEN", "t"), ("NO_PROXY", "x")]),
        )
        .expect("config");
        assert_eq!(cfg.proxy, None, "NO_PROXY alone is no proxy");
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
