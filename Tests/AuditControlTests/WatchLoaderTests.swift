import AuditControl
import Foundation
import Glibc
import HostFiles
import Testing
import TestSupport

/// Watches added and removed in the running kernel. Needs root and the kernel's audit
/// subsystem; skipped elsewhere, mandatory under `.ci/run` (AUDISP_LKM_REQUIRE_ALL=1).
@Suite("Watches in the kernel", .serialized)
struct WatchLoaderTests {
    @Test("a place whose name is not UTF-8 (a link's target) is watched, listed and unwatched by its exact bytes",
          .enabled(if: auditdIsRunning || TestData.mandatory))
    func bytesWatched() throws {
        try #require(auditdIsRunning, "needs root and a running auditd (AUDISP_LKM_REQUIRE_ALL=1 makes this mandatory)")
        try withSystemAuditLock {
            try withTemporaryDirectory { directory in
                let place = RawPath(directory.path).appending(name: Array("lkm-".utf8) + [0xFF, 0xFE, 0x0A])
                #expect(place.withCString { mkdir($0, 0o755) } == 0)
                let (key, lists) = ("audisp-lkm-test", [WatchLoader.List.exit(architecture: "b64")])
                defer { _ = WatchLoader.apply(adding: false, paths: [place], key: key, lists: lists) }
                let added = WatchLoader.apply(adding: true, paths: [place], key: key, lists: lists)
                #expect(added.failures.isEmpty, "\(added.failures)")
                let watches = try KernelWatches.load().get().watches
                #expect(watches.contains { $0.path == place && !$0.isTree }, "path= \(place.text)")
                #expect(watches.contains { $0.path == place && $0.isTree }, "dir= \(place.text)")
                let removed = WatchLoader.apply(adding: false, paths: [place], key: key, lists: lists)
                #expect(removed.failures.isEmpty, "\(removed.failures)")
                #expect(try KernelWatches.load().get().watches.contains { $0.path == place } == false)
            }
        }
    }
}
