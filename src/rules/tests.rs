use super::*;

#[test]
fn default_rules_compile() {
    let rules = default_rules();
    assert!(rules.iter().any(|r| r.id == "applivery-app-token"));
    assert!(rules.iter().all(|r| !r.help.is_empty()));
    // The defaults compile on first use: every regex must compile, and the same text
    // loaded as a user's file (compiled at load) must pass the same checks.
    for r in &rules {
        let _ = r.secret_group();
        let mut all: Vec<&RuleRegex> = vec![&r.regex];
        all.extend(&r.secret.regex);
        all.extend(&r.allowlist.regexes);
        all.extend(&r.allowlist.lines);
        if let Some(c) = &r.context {
            all.extend(&c.near);
            all.extend(&c.signal);
            all.extend(&c.section_break);
            all.extend(&c.key);
        }
        for re in all {
            let _ = re.get();
        }
    }
    let eager = parse_rules(DEFAULT_RULES, DEFAULT_RULES_NAME).expect("compile at load");
    assert_eq!(eager.len(), rules.len());
    for (a, b) in eager.iter().zip(&rules) {
        assert_eq!(a.secret_group(), b.secret_group());
    }
}

#[test]
fn defaults_compile_on_first_use_only() {
    let rules = default_rules();
    assert!(rules.iter().all(|r| !r.regex.is_compiled()));
    let _ = rules[0].regex.is_match(b"x");
    assert!(rules[0].regex.is_compiled());
}

#[test]
fn errors_name_file_rule_and_reason() {
    let bad = r#"
[[rules]]
id = "x"
description = "d"
regex = "abc"
"#;
    let err = format!("{:#}", parse_rules(bad, "f.toml").unwrap_err());
    assert!(err.contains("f.toml"), "{err}");
    assert!(err.contains("rule 'x'"), "{err}");
    assert!(err.contains("secret"), "{err}");
}

#[test]
fn unknown_keys_are_rejected() {
    let bad = "[[rules]]\nid='x'\ndescription='d'\nregex='(?P<secret>a)'\nbogus=1\n";
    let err = format!("{:#}", parse_rules(bad, "f.toml").unwrap_err());
    assert!(err.contains("bogus"), "{err}");
}

#[test]
fn bad_regex_is_reported() {
    let bad = "[[rules]]\nid='x'\ndescription='d'\nregex='(?P<secret>['\n";
    let err = format!("{:#}", parse_rules(bad, "f.toml").unwrap_err());
    assert!(err.contains("invalid rule regex"), "{err}");
}

/// The binary reads the default rules as JSON made from the TOML at build time: the two must
/// say the same, field for field.
#[test]
fn default_rules_json_reads_as_the_toml() {
    let from_toml: RuleFile = toml::from_str(DEFAULT_RULES).expect("TOML");
    let from_json: RuleFile = serde_json::from_str(DEFAULT_RULES_JSON).expect("JSON");
    assert!(!from_toml.rules.is_empty());
    assert_eq!(format!("{from_toml:?}"), format!("{from_json:?}"));
}
