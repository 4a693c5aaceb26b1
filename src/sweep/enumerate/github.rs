//! GitHub: `GET /orgs/{org}/repos?type=all&per_page=100`, with the token as a Bearer header.

use serde_json::Value;

use super::{listed, pages, text, Api, Filter, Host};
use crate::net::{self, Url};
use crate::sweep::repo::Repo;

struct GitHub<'a> {
    org: &'a str,
}

impl Host for GitHub<'_> {
    fn name(&self) -> &'static str {
        "GitHub"
    }

    fn token_var(&self) -> &'static str {
        "GITHUB_TOKEN"
    }

    fn owner(&self) -> (&'static str, &str) {
        ("organisation", self.org)
    }

    fn auth(&self, token: &str) -> net::Header<'static> {
        net::Header {
            name: "authorization",
            value: format!("Bearer {}", token.trim()),
            sensitive: true,
        }
    }
}

/// Every repository of organisation `org`, in the API's order, filtered.
pub fn github(api: &Api, org: &str, filter: Filter) -> Result<Vec<Repo>, String> {
    let host = GitHub { org };
    if org.is_empty() || org.contains('/') {
        return Err(format!(
            "--github-org: '{}' is not an organisation name",
            crate::report::escape_control(org)
        ));
    }
    let mut url = net::base_url(&api.base)
        .map_err(|e| format!("--github-api-url: {}", crate::report::escape_control(&e)))?;
    push_path(&mut url, &["orgs", org, "repos"]);
    url.query_pairs_mut()
        .append_pair("type", "all")
        .append_pair("per_page", "100");
    let mut out = Vec::new();
    pages(api, &host, url, |items| {
        for item in items {
            let name = text(item, "full_name").unwrap_or("?");
            let archived = item.get("archived").and_then(Value::as_bool) == Some(true);
            let fork = item.get("fork").and_then(Value::as_bool) == Some(true);
            if (archived && filter.skip_archived) || (fork && filter.skip_forks) {
                continue;
            }
            let Some(clone) = text(item, "clone_url") else {
                return Err(format!("GitHub API: repository {name} has no clone_url"));
            };
            out.push(listed(api, &host, name, clone)?);
        }
        Ok(())
    })?;
    Ok(out)
}

/// Appends path segments to a base URL, each percent-encoded (a `/` in one stays inside it).
pub(super) fn push_path(url: &mut Url, segments: &[&str]) {
    if let Ok(mut p) = url.path_segments_mut() {
        p.pop_if_empty();
        for s in segments {
            p.push(s);
        }
    }
}
