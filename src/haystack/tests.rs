use super::*;
use crate::rules::default_rules;

const T: &str = "Zk3qP9xVb2LmN7wQe4RtY6uA";
const T2: &str = "Qw8rT5yU1iO3pA6sD9fG2hJk"; // applivery-leaks:allow

#[test]
fn chunk_boundaries_do_not_change_results() {
    let det = Detector::new(default_rules()).unwrap();
    let mut text = String::new();
    for i in 0..400 {
        text.push_str(&format!("line {i} filler text here\n"));
        if i % 37 == 0 {
            text.push_str(&format!("APPLIVERY_APP_TOKEN={T}\n"));
        }
    }
    let whole = scan_slice(&det, text.as_bytes(), b"");
    let margin = det.margin();
    for chunk in [4 * margin, 4 * margin + 1, 4 * margin + 4099] {
        let mut buf = Vec::new();
        let mut r = std::io::Cursor::new(text.repeat(3).into_bytes());
        let got = scan_reader_chunked(&det, &mut r, b"", &mut buf, chunk).unwrap();
        let Scanned::Text { hits, .. } = got else {
            panic!()
        };
        let Scanned::Text { hits: w, .. } = &whole else {
            panic!()
        };
        assert_eq!(hits.len(), 3 * w.len(), "chunk {chunk}");
        let per = text.lines().count() as u64;
        for (i, h) in hits.iter().enumerate() {
            let orig = &w[i % w.len()];
            assert_eq!(h.line, orig.line + per * (i / w.len()) as u64);
            assert_eq!(h.column, orig.column);
        }
    }
}

#[test]
fn redacted_context_hides_every_secret_on_the_line_as_written() {
    let det = Detector::new(default_rules()).unwrap();
    // Two tokens on one line, and a long line cut near a third one.
    let text = format!("APPLIVERY_APP_TOKEN={T} APPLIVERY_TOKEN_2={T2}\n");
    let Scanned::Text { hits, .. } = scan_slice(&det, text.as_bytes(), b"") else {
        panic!()
    };
    assert_eq!(hits.len(), 2);
    for h in &hits {
        assert_eq!(
            h.context_redacted,
            "APPLIVERY_APP_TOKEN=Zk3q… APPLIVERY_TOKEN_2=Qw8r…"
        );
    }
    // A base64-encoded token is redacted as written, not only as decoded.
    let b64 = "WmszcVA5eFZiMkxtTjd3UWU0UnRZNnVB"; // base64 of T (applivery-leaks:allow)
    let text = format!(
        "kind: Secret\nmetadata:\n  name: applivery\ndata:\n  APPLIVERY_APP_TOKEN: {b64}\n"
    );
    let Scanned::Text { hits, .. } = scan_slice(&det, text.as_bytes(), b"") else {
        panic!()
    };
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].secret, T);
    assert_eq!(
        hits[0].context_redacted,
        "APPLIVERY_APP_TOKEN: WmVz…".replace("WmVz", &b64[..4])
    );
    // A cut of a long line never falls inside another secret.
    let text = format!(
        "applivery_token={T}{}x applivery.token={T2} {}\n",
        " ".repeat(52),
        "trailing words ".repeat(8)
    );
    let Scanned::Text { hits, .. } = scan_slice(&det, text.as_bytes(), b"") else {
        panic!()
    };
    assert_eq!(hits.len(), 2);
    assert!(hits[0].context.ends_with('…'), "the line is cut");
    assert!(
        hits.iter().all(
            |h| !h.context_redacted.contains(&T2[..5]) && !h.context_redacted.contains(&T[..5])
        ),
        "{hits:?}"
    );
}

#[test]
fn other_copies_of_a_found_secret_are_redacted_in_every_context() {
    let det = Detector::new(default_rules()).unwrap();
    // The second copy belongs to a key no rule vouches for; the third sits where a long
    // line is cut; the fourth is on another line, next to another finding.
    let text = format!(
        "APPLIVERY_APP_TOKEN={T} BACKUP={T}\nAPPLIVERY_TOKEN_2={T2} {} old={T} {}\nx={T} applivery_token={T2}\n",
        "w".repeat(60),
        "tail ".repeat(40)
    );
    let Scanned::Text { hits, .. } = scan_slice(&det, text.as_bytes(), b"") else {
        panic!()
    };
    assert!(hits.len() >= 3, "{hits:?}");
    for h in &hits {
        assert!(
            !h.context_redacted.contains(&T[4..]) && !h.context_redacted.contains(&T2[4..]),
            "{h:?}"
        );
        for part in [&T[8..20], &T2[8..20]] {
            assert!(!h.context_redacted.contains(part), "{h:?}");
        }
    }
    assert_eq!(
        hits[0].context_redacted,
        "APPLIVERY_APP_TOKEN=Zk3q… BACKUP=Zk3q…"
    );
}

#[test]
fn utf16_is_decoded_whole_and_in_chunks_with_the_same_lines_and_columns() {
    let det = Detector::new(default_rules()).unwrap();
    let mut text = String::new();
    for i in 0..12000 {
        text.push_str(&format!("# ligne {i} — é😀\r\n"));
        if i % 1201 == 0 {
            text.push_str(&format!("$env:APPLIVERY_APP_TOKEN = \"{T}\"\r\n"));
        }
    }
    let Scanned::Text { hits: want, .. } = scan_slice(&det, text.as_bytes(), b"") else {
        panic!()
    };
    assert_eq!(want.len(), 10);
    assert!(text.len() > 2 * 4 * det.margin(), "several chunks");
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let with_bom = [&[0xFF, 0xFE][..], &le].concat();
    for data in [&le, &be, &with_bom] {
        let Scanned::Text { hits, bytes } = scan_slice(&det, data, b"") else {
            panic!("UTF-16 taken for binary")
        };
        assert_eq!(bytes, data.len() as u64);
        assert_eq!(hits, want);
        for chunk in [4 * det.margin(), 4 * det.margin() + 333] {
            let mut r = io::Cursor::new(data.as_slice());
            let got = scan_reader_chunked(&det, &mut r, b"", &mut Vec::new(), chunk).unwrap();
            assert_eq!(
                got,
                Scanned::Text {
                    bytes: data.len() as u64,
                    hits: want.clone()
                },
                "chunk {chunk}"
            );
        }
    }
}

#[test]
fn binary_stream_is_not_read_past_the_first_chunk() {
    struct Fails;
    impl Read for Fails {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("read past the binary check"))
        }
    }
    let det = Detector::new(default_rules()).unwrap();
    let mut r = io::Cursor::new(vec![0u8; 2 * CHUNK]).chain(Fails);
    let got = scan_reader(&det, &mut r, b"", &mut Vec::new()).unwrap();
    assert!(matches!(got, Scanned::Binary { bytes } if bytes < 2 * CHUNK as u64));
}

#[test]
fn binary_is_skipped() {
    let det = Detector::new(default_rules()).unwrap();
    let mut data = b"applivery_token=".to_vec();
    data.extend_from_slice(T.as_bytes());
    data.push(0);
    assert_eq!(scan_slice(&det, &data, b""), Scanned::Binary { bytes: 41 });
}

#[test]
fn columns_count_characters() {
    let det = Detector::new(default_rules()).unwrap();
    let text = format!("é applivery_token={T}\n");
    let Scanned::Text { hits, .. } = scan_slice(&det, text.as_bytes(), b"") else {
        panic!()
    };
    assert_eq!(hits[0].column, 19);
    assert_eq!(hits[0].end_column, 43);
}

#[test]
fn tokens_straddling_chunk_boundaries_on_one_long_line() {
    // No newline at all: line starts are cut by the detector's bounded look-around, which
    // must give the same answer whichever chunk a token falls in.
    let det = Detector::new(default_rules()).unwrap();
    let margin = det.margin();
    let mut text = String::new();
    let mut planted = 0;
    while text.len() < 12 * margin {
        text.push_str("filler,words;and(some)symbols{x:1},");
        if text.len() % 997 < 40 {
            text.push_str(&format!("\"appliveryToken\":\"{T}\","));
            planted += 1;
        }
    }
    let Scanned::Text { hits: whole, .. } = scan_slice(&det, text.as_bytes(), b"") else {
        panic!()
    };
    assert_eq!(whole.len(), planted);
    for chunk in [4 * margin, 4 * margin + 7, 5 * margin + 333] {
        let mut buf = Vec::new();
        let mut r = std::io::Cursor::new(text.as_bytes());
        let Scanned::Text { hits, .. } =
            scan_reader_chunked(&det, &mut r, b"", &mut buf, chunk).unwrap()
        else {
            panic!()
        };
        assert_eq!(hits.len(), whole.len(), "chunk {chunk}");
        for (h, w) in hits.iter().zip(&whole) {
            assert_eq!(
                (h.line, h.column, h.end_column, &h.secret),
                (w.line, w.column, w.end_column, &w.secret),
                "chunk {chunk}"
            );
        }
    }
}

#[test]
fn tenant_hosts_are_applivery_hosts_only() {
    let mut got = Vec::new();
    tenant_hosts(
        b"upload: https://upload.Acme.applivery.io/v1 api.applivery.io \
          https://api.beta.applivery.io. x.evil.applivery.io.attacker.example \
          api.gamma.applivery.io:443 https://api.gamma.applivery.io/ a_b.delta.applivery.io \
          https://applivery.io.evil.example http://127.0.0.1/api.applivery.io",
        &mut got,
    );
    assert_eq!(
        got,
        [
            "upload.acme.applivery.io",
            "api.beta.applivery.io",
            "api.gamma.applivery.io"
        ]
    );
    let mut many = Vec::new();
    let text: String = (0..50).map(|i| format!("api.t{i}.applivery.io ")).collect();
    tenant_hosts(text.as_bytes(), &mut many);
    assert_eq!(many.len(), MAX_TENANT_HOSTS);
}

/// Hands out at most 7 bytes per read, like a pipe under load.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out.len().min(7).min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn short_reads_and_a_dirty_reused_buffer_change_nothing() {
    let det = Detector::new(default_rules()).unwrap();
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("row {i}\r\n"));
        if i % 401 == 0 {
            text.push_str(&format!("APPLIVERY_APP_TOKEN={T}\r\n"));
        }
    }
    let Scanned::Text { hits: whole, .. } = scan_slice(&det, text.as_bytes(), b"") else {
        panic!()
    };
    // A buffer left full of another blob's bytes, as the directory walker hands it over.
    let mut buf = vec![b'x'; 3 * det.margin()];
    let got = scan_reader_chunked(&det, &mut Trickle(text.as_bytes()), b"", &mut buf, 0).unwrap();
    assert_eq!(
        got,
        Scanned::Text {
            bytes: text.len() as u64,
            hits: whole
        }
    );
}
