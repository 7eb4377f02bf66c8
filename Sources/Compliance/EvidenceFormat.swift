/// The evidence formats: `text` (terminal tables), `json` (ECS documents, one per line),
/// `csv` (one table, RFC 4180), `html` (one self-contained printable page).
public enum EvidenceFormat: String, CaseIterable, Sendable {
    case text, json, csv, html
}
