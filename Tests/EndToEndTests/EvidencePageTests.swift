import Foundation
import Glibc
import Testing
import TestSupport

/// The evidence page as an auditor reads it: printed to PDF by a real browser (Debian's
/// chromium, headless), its text read back with pdftotext. Needs chromium and
/// poppler-utils; skipped elsewhere, mandatory under `.ci/run`.
///
/// Whether an identifier wraps is measured in the printed text: `pdftotext -layout` keeps
/// each printed line, so an event id or time broken inside its cell would stand in two
/// pieces on two lines. Every alert's and exclusion's event id and time must be found
/// whole.
@Suite("The evidence page in a real browser", .serialized)
struct EvidencePageTests {
    static let chromium = "/usr/bin/chromium"
    static let pdftotext = "/usr/bin/pdftotext"
    static var available: Bool { access(chromium, X_OK) == 0 && access(pdftotext, X_OK) == 0 }
    static let logs = ["audit.log.1", "audit.log"].map { TestData.kernelFixture("report/\($0)").path }

    @Test("printed to PDF: page 1 answers the four questions; no event id or time breaks inside its cell",
          .enabled(if: available || TestData.mandatory))
    func printed() throws {
        try #require(Self.available, "needs chromium and poppler-utils (pdftotext)")
        try withTemporaryDirectory { directory in
            let page = directory.appendingPathComponent("evidence.html").path
            let pdf = directory.appendingPathComponent("evidence.pdf").path
            let html = try audispLKM(["report", "--format", "html", "-o", page] + Self.logs)
            #expect(html.status == 0, "\(html.err)")
            let json = try audispLKM(["report", "--format", "json"] + Self.logs)
            let documents = json.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let verdict = try #require(documents.compactMap { jsonField($0, "audisp_lkm.verdict") as? [[String: Any]] }.first)
            #expect(verdict.count == 4)

            // A profile of its own, so that the browser writes nothing in the user's home.
            let profile = directory.appendingPathComponent("chromium-profile").path
            try runCommand(Self.chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)",
                                           "--no-pdf-header-footer", "--print-to-pdf=\(pdf)", "file://\(page)"])
            #expect(FileManager.default.fileExists(atPath: pdf))
            let first = try runCommand(Self.pdftotext, ["-f", "1", "-l", "1", "-layout", pdf, "-"])
            // The panel's four titles and each answer, as the JSON summary gives them.
            for title in ["Changes", "Configuration now", "Control in place", "Evidence"] {
                #expect(first.contains(title.uppercased()) || first.contains(title), "page 1 lacks \(title): \(first)")
            }
            for box in verdict {
                let answer = try #require(box["answer"] as? String)
                #expect(first.contains(answer), "page 1 lacks the answer \"\(answer)\": \(first)")
            }

            // Every alert's and exclusion's identifiers, whole on one printed line.
            let whole = try runCommand(Self.pdftotext, ["-layout", pdf, "-"])
            let rows = documents.filter { ["alert", "excluded"].contains(jsonField($0, "audisp_lkm.decision") as? String ?? "")
                && jsonField($0, "file.path") != nil }
            #expect(!rows.isEmpty)
            for row in rows {
                let id = try #require(jsonField(row, "event.id") as? String)
                #expect(whole.contains(id), "event id \(id) is broken in the printed page")
                let time = try #require(row["@timestamp"] as? String)
                // The page shows times to the second.
                let shown = String(time.prefix(19)) + "Z"
                #expect(whole.contains(shown) || whole.contains(String(time.prefix(19))), "time \(time) is broken in the printed page")
            }
            // A4 landscape (pdfinfo: "Page size: 841.92 x 594.96 pts (A4)", width first).
            let info = try runCommand("/usr/bin/pdfinfo", [pdf])
            let size = info.split(separator: "\n").first { $0.hasPrefix("Page size:") }?.split(separator: " ").compactMap { Double($0) } ?? []
            #expect(size.count == 2 && size[0] > 840 && size[0] < 843 && size[1] > 594 && size[1] < 596, "\(info)")
        }
    }

    @Test("the page is self-contained: no scripts, no external assets")
    func selfContained() throws {
        try withTemporaryDirectory { directory in
            let page = directory.appendingPathComponent("evidence.html").path
            _ = try audispLKM(["report", "--format", "html", "-o", page] + Self.logs)
            let html = try String(contentsOfFile: page, encoding: .utf8)
            #expect(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http"))
            #expect(html.contains("default-src 'none'"))
            // The verdict panel comes before any table, and links to its four sections.
            let panel = try #require(html.range(of: "<section class=\"verdict\">"))
            #expect(html.range(of: "<table")!.lowerBound > panel.lowerBound)
            for anchor in ["changes", "configuration", "control", "evidence"] {
                #expect(html.contains("href=\"#\(anchor)\"") && html.contains("id=\"\(anchor)\""), "\(anchor)")
            }
        }
    }
}
