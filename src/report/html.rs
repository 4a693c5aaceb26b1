//! The incident report as one self-contained HTML page: no CDN, no font, no request of any
//! kind (a Content-Security-Policy forbids them), inline CSS and a small inline script for
//! sorting and filtering. It opens from a mail attachment or an artefact store as it is.
//!
//! Everything a repository controls — paths, author names, commit subjects, repository
//! names, reasons — is escaped as text, and the one script carries a per-file nonce the
//! policy requires, so markup injected by a hostile repository is shown, never run. Secrets
//! are redacted unless `--show-secrets`. Opening the page at `#selftest` runs a check of
//! the sorting and filtering in the browser and writes the result into the page (CI renders
//! it in headless Chromium and reads it).

use std::fmt::Write as _;
use std::io::{self, Write};

use super::incident::{self, Incident, Seen, Token};
use super::{short, Report, Style};
use crate::time::parse_rfc3339;

pub fn write(report: &Report, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let inc = incident::build(report, style.show_secrets);
    out.write_all(page(report, &inc, style.show_secrets).as_bytes())
}

/// Escapes text for HTML content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

fn page(report: &Report, inc: &Incident, show: bool) -> String {
    let nonce = crate::finding::sha256_hex(
        format!(
            "{:?}{}{}",
            std::time::SystemTime::now(),
            std::process::id(),
            report.findings.len()
        )
        .as_bytes(),
    )[..24]
        .to_string();
    let now = crate::time::rfc3339(std::time::SystemTime::now());
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Applivery token incident report</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
    );
    let _ = write!(
        h,
        "<h1>Applivery token incident report</h1>\n<p class=\"meta\">applivery-leaks {} · \
         {} · written {}{}</p>\n",
        env!("CARGO_PKG_VERSION"),
        esc(report.kind.as_str()),
        esc(&now),
        if show {
            " · <strong>contains secrets in full: keep it private</strong>"
        } else {
            " · secrets redacted"
        }
    );
    summary(&mut h, report, inc);
    todo(&mut h, inc);
    table(&mut h, inc);
    exposure(&mut h, inc);
    pack(&mut h, report, inc);
    problems(&mut h, report);
    let _ = write!(
        h,
        "<pre id=\"selftest\" hidden></pre>\n<script nonce=\"{nonce}\">{JS}</script>\n</body>\n</html>\n"
    );
    h
}

fn summary(h: &mut String, report: &Report, inc: &Incident) {
    let _ = write!(
        h,
        "<section id=\"summary\" data-tokens=\"{}\" data-live=\"{}\" data-head=\"{}\">\n<h2>Summary</h2>\n<dl>\n",
        inc.tokens.len(),
        inc.live,
        inc.in_head
    );
    let mut item = |k: &str, v: String, class: &str| {
        let _ = writeln!(h, "<div class=\"{class}\"><dt>{k}</dt><dd>{v}</dd></div>");
    };
    item("Unique tokens", inc.tokens.len().to_string(), "");
    item(
        "Live",
        inc.live.to_string(),
        if inc.live > 0 { "bad" } else { "" },
    );
    item("Revoked", inc.revoked.to_string(), "");
    item("Unknown", inc.unknown.to_string(), "");
    if inc.unverified > 0 {
        item("Not verified", inc.unverified.to_string(), "");
    }
    item(
        "Still in HEAD",
        inc.in_head.to_string(),
        if inc.in_head > 0 { "bad" } else { "" },
    );
    if let Some(n) = inc.repositories_swept {
        item(
            "Repositories affected",
            format!("{} of {n} swept", inc.repositories_affected),
            "",
        );
    }
    if inc.repositories_failed > 0 {
        item(
            "Repositories that failed",
            inc.repositories_failed.to_string(),
            "bad",
        );
    }
    item("Findings", report.findings.len().to_string(), "");
    if !report.errors.is_empty() {
        item("Inputs not read", report.errors.len().to_string(), "bad");
    }
    h.push_str("</dl>\n</section>\n");
}

fn todo(h: &mut String, inc: &Incident) {
    h.push_str("<section id=\"todo\">\n<h2>What to do</h2>\n<ol>\n");
    let open = inc.live + inc.unknown + inc.unverified;
    if inc.tokens.is_empty() {
        h.push_str("<li>No token found. Nothing to revoke.</li>\n");
    } else {
        let _ = writeln!(
            h,
            "<li><strong>Revoke</strong> the {open} token(s) not proven revoked, live ones \
             first: in the Applivery dashboard, the app &gt; Settings &gt; Integrations &gt; \
             API Tokens (Service Account tokens: Workspace settings &gt; Service Accounts).</li>"
        );
        h.push_str(
            "<li><strong>Rotate</strong>: create new tokens and update every place that uses \
             them (CI secrets, build settings), then confirm with <code>applivery-leaks verify \
             --fail-on live</code>.</li>\n",
        );
        if inc.in_head > 0 {
            let _ = writeln!(
                h,
                "<li><strong>Clean HEAD</strong>: {} token(s) are still in the current code; \
                 read them from a secret store or CI variable instead.</li>",
                inc.in_head
            );
        }
        h.push_str(
            "<li><strong>History</strong>: a revoked token in old commits is useless, so a \
             rewrite is not needed to close the leak (clones and forks keep the old commits \
             anyway). To purge it all the same, the exposure map below says which refs hold \
             it, and the clean-up pack has the commands.</li>\n",
        );
    }
    h.push_str("</ol>\n</section>\n");
}

fn table(h: &mut String, inc: &Incident) {
    let dates: Vec<i64> = inc
        .tokens
        .iter()
        .flat_map(|t| [&t.first, &t.last])
        .filter_map(|s| s.as_ref().and_then(|s| parse_rfc3339(&s.date)))
        .collect();
    let span = (
        dates.iter().min().copied().unwrap_or(0),
        dates.iter().max().copied().unwrap_or(0),
    );
    h.push_str(
        "<section id=\"tokens-section\">\n<h2>Tokens</h2>\n<div id=\"controls\">\
         <input id=\"filter\" type=\"search\" placeholder=\"Filter: repository, path, author, token…\" aria-label=\"Filter\"> \
         <select id=\"status\" aria-label=\"Status\"><option value=\"\">every status</option>\
         <option value=\"live\">live</option><option value=\"unknown\">unknown</option>\
         <option value=\"unverified\">not verified</option><option value=\"revoked\">revoked</option></select> \
         <span id=\"shown\"></span></div>\n<table id=\"tokens\">\n<thead><tr>\
         <th data-key=\"rank\" data-num=\"1\">Status</th><th data-key=\"token\">Token</th>\
         <th data-key=\"first\" data-num=\"1\">First commit</th><th data-key=\"last\" data-num=\"1\">Last commit</th>\
         <th data-key=\"authors\">Authors</th><th data-key=\"places\" data-num=\"1\">Repositories and paths</th>\
         <th data-key=\"head\" data-num=\"1\">In HEAD</th><th>Timeline</th><th>What to do</th>\
         </tr></thead>\n<tbody>\n",
    );
    for t in &inc.tokens {
        row(h, t, span);
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn row(h: &mut String, t: &Token, span: (i64, i64)) {
    let status = t.status();
    let rank = match status {
        "live" => 0,
        "unknown" | "unverified" => 1,
        _ => 2,
    };
    let date = |s: &Option<Seen>| s.as_ref().and_then(|s| parse_rfc3339(&s.date)).unwrap_or(0);
    let _ = write!(
        h,
        "<tr data-status=\"{status}\" data-rank=\"{rank}\" data-token=\"{}\" data-first=\"{}\" \
         data-last=\"{}\" data-authors=\"{}\" data-places=\"{}\" data-head=\"{}\">",
        esc(&t.secret_sha256),
        date(&t.first),
        date(&t.last),
        esc(&t.authors.join(", ")),
        t.places.len(),
        u8::from(t.in_head),
    );
    // Status, with the evidence and what a live token opens.
    let _ = write!(h, "<td><span class=\"st {status}\">{status}</span>");
    if let Some(v) = t.verification {
        let _ = write!(h, "<div class=\"small\">{}", esc(&v.reason));
        if let Some(e) = &v.evidence {
            let _ = write!(
                h,
                " (GET {}{})",
                esc(&e.endpoint),
                e.http_status.map(|s| format!(" → {s}")).unwrap_or_default()
            );
        }
        h.push_str("</div>");
        if let Some(b) = &v.blast_radius {
            let _ = write!(
                h,
                "<div class=\"small blast\">Blast radius: {}</div>",
                esc(&super::text::blast_radius(b))
            );
        }
    }
    h.push_str("</td>");
    let _ = write!(
        h,
        "<td><code>{}</code><div class=\"small\">sha256 {}…<br>{}</div></td>",
        esc(&t.shown),
        esc(short(&t.secret_sha256)),
        esc(&t.rules.join(", "))
    );
    for s in [&t.first, &t.last] {
        match s {
            Some(s) => {
                let _ = write!(
                    h,
                    "<td><code>{}</code><div class=\"small\">{}<br>{}</div></td>",
                    esc(short(&s.commit)),
                    esc(&s.date),
                    esc(&s.author)
                );
            }
            None => h.push_str("<td>–</td>"),
        }
    }
    let _ = write!(
        h,
        "<td>{}</td>",
        esc(&t.authors.join("\n")).replace('\n', "<br>")
    );
    h.push_str("<td><ul class=\"places\">");
    const SHOWN: usize = 50;
    for p in t.places.iter().take(SHOWN) {
        let _ = write!(
            h,
            "<li>{}<code>{}</code>{}{}{}</li>",
            p.repository
                .as_ref()
                .map(|r| format!("<span class=\"repo\">{}</span> ", esc(r)))
                .unwrap_or_default(),
            esc(&p.path),
            if p.line > 0 {
                format!(":{}", p.line)
            } else {
                String::new()
            },
            p.commit
                .as_ref()
                .map(|c| format!(" <span class=\"small\">@{}</span>", esc(short(c))))
                .unwrap_or_default(),
            if p.evidence.is_empty() {
                String::new()
            } else {
                format!(
                    "<div class=\"small evidence\">because {}</div>",
                    esc(&p.evidence)
                )
            }
        );
    }
    if t.places.len() > SHOWN {
        let _ = write!(h, "<li>… and {} more</li>", t.places.len() - SHOWN);
    }
    let _ = write!(
        h,
        "</ul><div class=\"small\">{} commit(s)</div></td>",
        t.commit_count
    );
    let _ = write!(
        h,
        "<td>{}</td>",
        if t.in_head {
            "<span class=\"st live\">yes</span>"
        } else {
            "no"
        }
    );
    let _ = write!(
        h,
        "<td>{}</td>",
        timeline(date(&t.first), date(&t.last), span)
    );
    h.push_str("<td><ul class=\"todo\">");
    for a in incident::advice(t) {
        let _ = write!(h, "<li>{}</li>", esc(&a));
    }
    h.push_str("</ul></td></tr>\n");
}

/// The exposure map: per token, every ref that reaches a commit holding it and whether the
/// ref's own commit does, the commits that introduced it, the newest that holds it, and its
/// paths.
fn exposure(h: &mut String, inc: &Incident) {
    if !inc.tokens.iter().any(|t| t.exposure.is_some()) {
        return;
    }
    h.push_str(
        "<section id=\"exposure\">\n<h2>Exposure map</h2>\n<p class=\"small\">Every ref that \
         reaches a commit holding the token. <em>At tip</em>: the ref's own commit holds it. \
         Pull and merge request refs belong to the forge: a force-push cannot rewrite them.</p>\n",
    );
    for t in &inc.tokens {
        let Some(e) = t.exposure else {
            continue;
        };
        let _ = write!(
            h,
            "<div class=\"exp\" data-token=\"{}\" data-refs=\"{}\" data-tips=\"{}\">\n\
             <h3><code>{}</code> <span class=\"st {status}\">{status}</span></h3>\n",
            esc(&t.secret_sha256),
            e.refs.len(),
            e.refs.iter().filter(|r| r.at_tip).count(),
            esc(&t.shown),
            status = t.status()
        );
        if let Some(b) = t.verification.and_then(|v| v.blast_radius.as_ref()) {
            let _ = writeln!(
                h,
                "<p class=\"small blast\">Blast radius: {}</p>",
                esc(&super::text::blast_radius(b))
            );
        }
        if e.refs.is_empty() {
            h.push_str("<p>No ref reaches it (only unreachable objects hold it).</p>\n");
        } else {
            h.push_str(
                "<table class=\"refs\"><thead><tr><th>Ref</th><th>Commit</th><th>At tip</th>\
                 </tr></thead><tbody>\n",
            );
            for r in &e.refs {
                let _ = writeln!(
                    h,
                    "<tr data-ref=\"{}\" data-tip=\"{}\"><td>{}<code>{}</code>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                    esc(&r.name),
                    u8::from(r.at_tip),
                    r.repository
                        .as_ref()
                        .map(|x| format!("<span class=\"repo\">{}</span> ", esc(x)))
                        .unwrap_or_default(),
                    esc(&r.name),
                    if r.forge_owned() {
                        " <span class=\"small\">(forge-owned)</span>"
                    } else {
                        ""
                    },
                    esc(short(&r.commit)),
                    if r.at_tip {
                        "<span class=\"st live\">yes</span>"
                    } else {
                        "no"
                    }
                );
            }
            h.push_str("</tbody></table>\n");
        }
        let _ = writeln!(
            h,
            "<p class=\"small\">Introduced in {}; last held by {}.<br>Paths: {}</p>\n</div>",
            if e.introduced.is_empty() {
                "–".to_string()
            } else {
                e.introduced
                    .iter()
                    .map(|c| format!("<code>{}</code>", esc(short(c))))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            e.last_commit
                .as_deref()
                .map_or("–".to_string(), |c| format!(
                    "<code>{}</code>",
                    esc(short(c))
                )),
            e.paths
                .iter()
                .map(|p| format!("<code>{}</code>", esc(p)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    h.push_str("</section>\n");
}

/// The files of the remediation pack (`applivery-leaks remediate`), linked.
pub const PACK_LINKS: &[(&str, &str)] = &[
    (
        "revoke.md",
        "what to revoke, live first, with the dashboard steps",
    ),
    (
        "purge.md",
        "the git filter-repo and BFG commands, and the refs the forge owns",
    ),
    (
        "recheck.sh",
        "sweep the rewritten history again and confirm each token is revoked",
    ),
];

fn pack(h: &mut String, report: &Report, inc: &Incident) {
    if inc.tokens.is_empty() {
        return;
    }
    let dir = report.pack_dir.as_deref().unwrap_or("remediation/");
    h.push_str("<section id=\"pack\">\n<h2>Clean-up pack</h2>\n");
    if report.pack_dir.is_none() {
        let from = if report.summary.repositories.is_some() {
            "from each repository's JSON report (<code>--output-dir</code>), one pack per \
             repository"
        } else {
            "next to this report, from its JSON form"
        };
        let _ = writeln!(
            h,
            "<p>Write it {from}: <code>applivery-leaks remediate REPORT.json --out {}</code> \
             (<code>replace-text.txt</code> there holds the full tokens: delete it after the \
             purge).</p>",
            esc(dir)
        );
    }
    h.push_str("<ul>\n");
    for (file, what) in PACK_LINKS {
        let _ = writeln!(
            h,
            "<li><a href=\"{dir}{file}\">{file}</a>: {what}</li>",
            dir = esc(dir)
        );
    }
    h.push_str("</ul>\n</section>\n");
}

/// A bar from the first to the last commit, on the scale of the whole report.
fn timeline(first: i64, last: i64, (lo, hi): (i64, i64)) -> String {
    if first == 0 {
        return String::new();
    }
    let width = 120.0;
    let scale = |t: i64| {
        if hi <= lo {
            0.0
        } else {
            (t - lo) as f64 / (hi - lo) as f64 * (width - 4.0)
        }
    };
    let (x1, x2) = (scale(first), scale(last.max(first)));
    format!(
        "<svg class=\"tl\" width=\"120\" height=\"12\" viewBox=\"0 0 120 12\" role=\"img\" \
         aria-label=\"from first to last commit\"><line x1=\"0\" y1=\"6\" x2=\"120\" y2=\"6\" \
         class=\"axis\"/><rect x=\"{x1:.1}\" y=\"2\" width=\"{:.1}\" height=\"8\" rx=\"2\"/></svg>",
        (x2 - x1).max(4.0)
    )
}

fn problems(h: &mut String, report: &Report) {
    let failed: Vec<_> = report
        .summary
        .repositories
        .iter()
        .flat_map(|r| &r.list)
        .filter(|o| o.status == "failed")
        .collect();
    if failed.is_empty() && report.errors.is_empty() {
        return;
    }
    h.push_str(
        "<section id=\"problems\">\n<h2>Not swept, or not read in full</h2>\n<p>Nothing \
         found here does not mean nothing is there: sweep these again.</p>\n<ul>\n",
    );
    for o in &failed {
        let _ = writeln!(
            h,
            "<li><span class=\"repo\">{}</span>: {}</li>",
            esc(&o.repository),
            esc(o.reason.as_deref().unwrap_or("failed"))
        );
    }
    for e in report.errors.iter().filter(|e| {
        !failed
            .iter()
            .any(|o| Some(&o.repository) == e.repository.as_ref() && e.path == o.repository)
    }) {
        let _ = writeln!(
            h,
            "<li><code>{}</code>: {}</li>",
            esc(&e.place()),
            esc(&e.reason)
        );
    }
    h.push_str("</ul>\n</section>\n");
}

const CSS: &str = "
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2em;color:#1b1f24;background:#fff}
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.5em 0 .5em}
.meta,.small{color:#57606a;font-size:.85em}
dl{display:flex;flex-wrap:wrap;gap:.75em;margin:0}
dl div{border:1px solid #d0d7de;border-radius:6px;padding:.5em 1em;min-width:8em}
dl div.bad{border-color:#cf222e;background:#fff5f5}
dt{color:#57606a;font-size:.85em}dd{margin:0;font-size:1.5em;font-weight:600}
table{border-collapse:collapse;width:100%;margin-top:.5em}
th,td{border-bottom:1px solid #d0d7de;padding:.4em .5em;text-align:left;vertical-align:top}
th[data-key]{cursor:pointer;user-select:none;white-space:nowrap}
th[data-key]:after{content:' \\2195';color:#8c959f}
th.asc:after{content:' \\2191'}th.desc:after{content:' \\2193'}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.st{display:inline-block;padding:0 .5em;border-radius:1em;font-weight:600;background:#eaeef2}
.st.live{background:#cf222e;color:#fff}.st.revoked{background:#dafbe1;color:#116329}
.st.unknown,.st.unverified{background:#fff8c5;color:#7d4e00}
.blast{color:#cf222e}.repo{font-weight:600}
ul.places,ul.todo{margin:0;padding-left:1.1em}
#controls{display:flex;gap:.5em;align-items:center}#filter{min-width:24em;padding:.3em}
svg.tl .axis{stroke:#d0d7de}svg.tl rect{fill:#0969da}
.exp{border:1px solid #d0d7de;border-radius:6px;padding:.2em 1em;margin:.75em 0}
.exp h3{font-size:1em}table.refs{width:auto}
";

const JS: &str = r#"
(function () {
  var table = document.getElementById('tokens');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var filter = document.getElementById('filter');
  var status = document.getElementById('status');
  var shown = document.getElementById('shown');
  function apply() {
    var q = filter.value.toLowerCase(), s = status.value, n = 0;
    rows.forEach(function (r) {
      var ok = (!s || r.dataset.status === s) && (!q || r.textContent.toLowerCase().indexOf(q) >= 0);
      r.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = n + ' of ' + rows.length + ' token(s) shown';
    return n;
  }
  function sortBy(th, dir) {
    var key = th.dataset.key, num = th.dataset.num === '1';
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.classList.remove('asc', 'desc'); });
    th.classList.add(dir > 0 ? 'asc' : 'desc');
    rows.sort(function (a, b) {
      var x = a.dataset[key] || '', y = b.dataset[key] || '';
      if (num) { x = Number(x); y = Number(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    if (!th.dataset.key) return;
    th.addEventListener('click', function () { sortBy(th, th.classList.contains('asc') ? -1 : 1); });
  });
  filter.addEventListener('input', apply);
  status.addEventListener('change', apply);
  apply();
  if (location.hash !== '#selftest') return;
  // The page checks itself: sort each way, filter by status and by text, and say so.
  var out = [], fail = 0;
  function check(name, ok) { out.push((ok ? 'ok   ' : 'FAIL ') + name); if (!ok) fail++; }
  function visible() { return rows.filter(function (r) { return !r.hidden; }); }
  function ordered(key, dir) {
    var v = Array.prototype.map.call(body.rows, function (r) { return Number(r.dataset[key]); });
    for (var i = 1; i < v.length; i++) if ((v[i] - v[i - 1]) * dir < 0) return false;
    return true;
  }
  var first = table.querySelector('th[data-key=first]');
  first.click(); check('sort by first commit, oldest first', ordered('first', 1));
  first.click(); check('sort by first commit, newest first', ordered('first', -1));
  var places = table.querySelector('th[data-key=places]');
  places.click(); check('sort by places', ordered('places', 1));
  var summary = document.getElementById('summary');
  status.value = 'live'; apply();
  check('filter live: ' + visible().length + ' row(s)', visible().length === Number(summary.dataset.live) &&
    visible().every(function (r) { return r.dataset.status === 'live'; }));
  status.value = ''; filter.value = 'no such thing \u2603'; apply();
  check('filter by text that matches nothing', visible().length === 0);
  filter.value = ''; apply();
  check('no filter shows every token', visible().length === Number(summary.dataset.tokens));
  var links = Array.prototype.slice.call(document.querySelectorAll('body a[href]'));
  check('one script, no injected element, links only to the clean-up pack',
    document.scripts.length === 1 && !document.querySelector('body img, body iframe, body object, body embed') &&
    links.every(function (a) {
      return a.closest('#pack') && /^(remediation\/)?(revoke\.md|purge\.md|recheck\.sh)$/.test(a.getAttribute('href'));
    }));
  var pre = document.getElementById('selftest');
  pre.textContent = out.join('\n') + '\nselftest: ' + (fail ? fail + ' FAILED' : 'pass') + '\n';
  pre.hidden = false;
})();
"#;
