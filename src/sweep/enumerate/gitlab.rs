//! GitLab: `GET /api/v4/groups/{group}/projects?include_subgroups=true&per_page=100`, with
//! the token in `PRIVATE-TOKEN`. Projects shared into the group from elsewhere are not its
//! own and are left out (`with_shared=false`).

use serde_json::Value;

use super::github::push_path;
use super::{listed, pages, text, Api, Filter, Host};
use crate::net;
use crate::sweep::repo::Repo;

struct GitLab<'a> {
    group: &'a str,
}

impl Host for GitLab<'_> {
    fn name(&self) -> &'static str {
        "GitLab"
    }

    fn token_var(&self) -> &'static str {
        "GITLAB_TOKEN"
    }

    fn owner(&self) -> (&'static str, &str) {
        ("group", self.group)
    }

    fn auth(&self, token: &str) -> net::Header<'static> {
        net::Header {
            name: "private-token",
            value: token.trim().to_string(),
            sensitive: true,
        }
    }
}

/// Every project of `group` and its subgroups, filtered.
pub fn gitlab(api: &Api, group: &str, filter: Filter) -> Result<Vec<Repo>, String> {
    let group = group.trim_matches('/');
    let host = GitLab { group };
    if group.is_empty() {
        return Err("--gitlab-group: empty group path".into());
    }
    let mut url = net::base_url(&api.base)
        .map_err(|e| format!("--gitlab-url: {}", crate::report::escape_control(&e)))?;
    push_path(&mut url, &["api", "v4", "groups", group, "projects"]);
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("include_subgroups", "true")
            .append_pair("with_shared", "false")
            .append_pair("per_page", "100")
            .append_pair("order_by", "id")
            .append_pair("sort", "asc");
        if filter.skip_archived {
            q.append_pair("archived", "false");
        }
    }
    let mut out = Vec::new();
    pages(api, &host, url, |items| {
        for item in items {
            let name = text(item, "path_with_namespace").unwrap_or("?");
            let archived = item.get("archived").and_then(Value::as_bool) == Some(true);
            let fork = item
                .get("forked_from_project")
                .is_some_and(|v| !v.is_null());
            if (archived && filter.skip_archived) || (fork && filter.skip_forks) {
                continue;
            }
            let Some(clone) = text(item, "http_url_to_repo") else {
                return Err(format!(
                    "GitLab API: project {name} has no http_url_to_repo"
                ));
            };
            out.push(listed(api, &host, name, clone)?);
        }
        Ok(())
    })?;
    Ok(out)
}
