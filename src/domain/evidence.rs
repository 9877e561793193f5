//! Evidence: proof attached to a checklist item (the SOC 2 report, the pen-test
//! letter), a link or a file that Slack keeps. Pure data and its checks; the store
//! keeps it (`store::evidence`), the checklist shows a paperclip with the count.

use serde::Serialize;

use super::command::evidence_url;

/// The most pieces of evidence one item holds: enough for any real proof, few enough
/// that the item modal and the export stay readable.
pub const MAX_PER_ITEM: usize = 20;

/// Characters of a piece's note (as an item's note).
pub const MAX_NOTE_CHARS: usize = 1000;

/// Characters of a file's name kept (Slack's names are shorter; a forged one is cut).
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// What a piece of evidence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceKind {
    /// A link typed or pasted (`/readiness evidence`, the modal's link field).
    Link,
    /// A file uploaded in the item modal: Slack keeps it; its permalink is the link.
    File,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Link => "link",
            EvidenceKind::File => "file",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "link" => Some(EvidenceKind::Link),
            "file" => Some(EvidenceKind::File),
            _ => None,
        }
    }
}

/// A piece of evidence to attach, checked: an http(s) link, or a Slack file with its
/// id and permalink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub kind: EvidenceKind,
    /// The link, or the file's permalink.
    pub url: String,
    pub file_id: Option<String>,
    pub file_name: Option<String>,
}

impl Attachment {
    /// A link, if `text` is an http(s) URL (as `/readiness evidence` reads one).
    pub fn link(text: &str) -> Option<Self> {
        Some(Attachment {
            kind: EvidenceKind::Link,
            url: evidence_url(text)?,
            file_id: None,
            file_name: None,
        })
    }

    /// A file from a `file_input`'s state, if its id looks like Slack's (`F…`) and its
    /// permalink is an http(s) URL; the name is cut to [`MAX_FILE_NAME_CHARS`].
    pub fn file(id: &str, name: &str, permalink: &str) -> Option<Self> {
        let id_ok =
            id.len() <= 32 && id.starts_with('F') && id.chars().all(|c| c.is_ascii_alphanumeric());
        if !id_ok {
            return None;
        }
        let name: String = name
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_FILE_NAME_CHARS)
            .collect();
        let name = name.trim();
        Some(Attachment {
            kind: EvidenceKind::File,
            url: evidence_url(permalink)?,
            file_id: Some(id.to_string()),
            file_name: (!name.is_empty()).then(|| name.to_string()),
        })
    }
}

/// One piece of evidence as stored, with who attached it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub id: i64,
    pub team_id: String,
    pub customer_id: i64,
    pub item_key: String,
    pub kind: EvidenceKind,
    /// The link, or the file's permalink.
    pub url: String,
    /// Slack's file id, for a file.
    pub file_id: Option<String>,
    /// The file's name, for a file.
    pub file_name: Option<String>,
    pub note: Option<String>,
    /// A Slack user id.
    pub added_by: String,
    /// Unix milliseconds.
    pub added_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_http_and_files_need_slacks_id_and_an_http_permalink() {
        let link = Attachment::link("<https://example.com/soc2.pdf|SOC 2>").unwrap();
        assert_eq!(link.url, "https://example.com/soc2.pdf");
        assert_eq!(link.kind, EvidenceKind::Link);
        assert!(Attachment::link("ftp://example.com/x").is_none());
        assert!(Attachment::link("soc2.pdf").is_none());

        let file = Attachment::file(
            "F0ABC123",
            "pen-test\u{7}.pdf",
            "https://acme.slack.com/files/U1/F0ABC123/pen-test.pdf",
        )
        .unwrap();
        assert_eq!(file.kind, EvidenceKind::File);
        assert_eq!(file.file_id.as_deref(), Some("F0ABC123"));
        assert_eq!(file.file_name.as_deref(), Some("pen-test.pdf"));
        assert!(Attachment::file("X1", "a", "https://a.example/x").is_none());
        assert!(Attachment::file("F1; DROP", "a", "https://a.example/x").is_none());
        assert!(Attachment::file("F1", "a", "javascript:alert(1)").is_none());
        let long = Attachment::file("F1", &"n".repeat(1000), "https://a.example/x").unwrap();
        assert_eq!(long.file_name.unwrap().chars().count(), MAX_FILE_NAME_CHARS);
        for kind in [EvidenceKind::Link, EvidenceKind::File] {
            assert_eq!(EvidenceKind::parse(kind.as_str()), Some(kind));
        }
    }
}
