// swift-tools-version:6.0
import PackageDescription

// Data flow, one module per stage (HostFiles, beneath them all, holds RawPath, the one path
// type, and the host's files read as bytes; Threads, the named threads and the lock that
// replay's and the plugin's queues wait on):
//   CAudit (libauparse, libaudit, zlib) -> AuditReading (bytes -> records -> events)
//   -> FileEvents (events -> creation/rename file events) -> RuleEngine (Elastic's EQL rule)
//   -> Outputs (ECS JSON, text; syslog, file and stdout sinks)
//   -> Detection (the one pipeline: select, normalise, evaluate, cap -> findings)
//   PlaceBaseline (the places as last known: scan, compare, persist; what changed unseen)
//   AuditControl (libaudit: kernel status, watches) and Settings (the configuration file),
//   beneath both of:
//   -> PluginRuntime (live: stdin pump, queues, signals; CCapNG drops capabilities)
//   Compliance (period report, inventory, host checks, profiles: evidence for auditors)
//   -> AudispLKM (the `audisp-lkm` command line)
let package = Package(
    name: "audisp-lkm",
    products: [
        .executable(name: "audisp-lkm", targets: ["AudispLKM"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CAudit",
            pkgConfig: "auparse",
            providers: [.apt(["libauparse-dev", "libaudit-dev", "zlib1g-dev"])]
        ),
        .systemLibrary(name: "CCapNG", pkgConfig: "libcap-ng", providers: [.apt(["libcap-ng-dev"])]),
        // The host's files as bytes: RawPath (the one path type: events, places, watches and
        // host files), small files read whole, links, directories.
        .target(name: "HostFiles"),
        // POSIX threads of the detector's own, and the lock its queues between them wait on.
        .target(name: "Threads", dependencies: ["HostFiles"]),
        .target(name: "AuditReading", dependencies: ["CAudit"]),
        .target(name: "FileEvents", dependencies: ["AuditReading", "HostFiles"]),
        .target(name: "RuleEngine", dependencies: ["FileEvents", "HostFiles"]),
        // The places as last known (a baseline), scanned and compared: what changed unseen.
        .target(name: "PlaceBaseline", dependencies: ["AuditReading", "FileEvents", "HostFiles"]),
        // The one pipeline from audit events to findings (select, normalise, evaluate, cap).
        .target(name: "Detection", dependencies: ["AuditReading", "FileEvents", "RuleEngine", "HostFiles", "Threads"]),
        .target(name: "Outputs", dependencies: ["AuditReading", "FileEvents", "RuleEngine", "PlaceBaseline", "HostFiles"]),
        // Reading audit logs offline for people: inputs in rotation order, progress, replay's run.
        .target(name: "OfflineReplay", dependencies: ["AuditReading", "FileEvents", "RuleEngine", "Detection", "Outputs"]),
        // Compliance evidence: the period report, the inventory, the profiles (data files).
        .target(name: "Compliance", dependencies: ["AuditReading", "FileEvents", "RuleEngine", "Detection", "Outputs",
                                                   "AuditControl", "Settings", "HostFiles", "OfflineReplay", "PlaceBaseline"],
                resources: [.embedInCode("Profiles")]),
        // Kernel audit control through libaudit: status, rule listing, adding and removing watches.
        .target(name: "AuditControl", dependencies: ["CAudit", "FileEvents", "RuleEngine", "HostFiles"]),
        // The plugin's configuration file (/etc/audit/audisp-lkm.conf).
        .target(name: "Settings", dependencies: ["AuditReading", "FileEvents", "RuleEngine", "Outputs", "HostFiles"]),
        .target(name: "PluginRuntime", dependencies: ["AuditReading", "FileEvents", "RuleEngine", "Detection", "Outputs",
                                                      "AuditControl", "Settings", "HostFiles", "PlaceBaseline", "Threads", "CCapNG"]),
        .executableTarget(
            name: "AudispLKM",
            dependencies: [
                "AuditReading", "FileEvents", "RuleEngine", "Detection", "Outputs", "AuditControl", "Settings",
                "HostFiles", "OfflineReplay", "PluginRuntime", "Compliance",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fixture locations and replay helpers shared by the test targets.
        .target(name: "TestSupport", dependencies: ["AuditReading", "FileEvents", "RuleEngine"], path: "Tests/TestSupport"),
        .testTarget(name: "AuditReadingTests", dependencies: ["AuditReading", "TestSupport"]),
        .testTarget(name: "FileEventsTests", dependencies: ["FileEvents", "AuditReading", "RuleEngine", "HostFiles", "TestSupport"]),
        .testTarget(name: "RuleEngineTests", dependencies: ["RuleEngine", "FileEvents", "HostFiles", "TestSupport"]),
        .testTarget(name: "DetectionTests", dependencies: ["Detection", "AuditReading", "FileEvents", "RuleEngine", "TestSupport"]),
        .testTarget(name: "OutputsTests", dependencies: ["Outputs", "FileEvents", "RuleEngine", "TestSupport"]),
        .testTarget(name: "AuditControlTests", dependencies: ["AuditControl", "RuleEngine", "FileEvents", "HostFiles", "TestSupport"]),
        .testTarget(name: "SettingsTests", dependencies: ["Settings", "Outputs", "TestSupport"]),
        .testTarget(name: "PluginRuntimeTests", dependencies: ["PluginRuntime"]),
        .testTarget(name: "PlaceBaselineTests", dependencies: ["PlaceBaseline", "HostFiles", "TestSupport"]),
        .testTarget(name: "ComplianceTests", dependencies: ["Compliance", "HostFiles", "RuleEngine", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["AudispLKM", "RuleEngine", "TestSupport"]),
    ]
)
