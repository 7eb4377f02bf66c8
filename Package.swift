// swift-tools-version:6.0
import PackageDescription

// Data flow, one module per stage:
//   CAudit (libauparse, libaudit, zlib) -> AuditReading (bytes -> records -> events)
//   -> FileEvents (events -> creation/rename file events) -> RuleEngine (Elastic's EQL rule)
//   -> Outputs (ECS JSON, text; syslog, file and stdout sinks)
//   -> PluginRuntime (live: stdin pump, queues, signals, configuration; CCapNG drops capabilities)
//   Compliance (period report, inventory, profiles: evidence for auditors, beside the runtime)
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
        .target(name: "AuditReading", dependencies: ["CAudit"]),
        .target(name: "FileEvents", dependencies: ["AuditReading"]),
        .target(name: "RuleEngine", dependencies: ["FileEvents"]),
        // The one pipeline from audit events to findings (select, normalise, evaluate, cap).
        .target(name: "Detection", dependencies: ["AuditReading", "FileEvents", "RuleEngine"]),
        .target(name: "Outputs", dependencies: ["AuditReading", "FileEvents", "RuleEngine"]),
        // Compliance evidence: the period report, the inventory, the profiles (data files).
        .target(name: "Compliance", dependencies: ["AuditReading", "FileEvents", "RuleEngine", "Detection", "Outputs"],
                resources: [.embedInCode("Profiles")]),
        .target(name: "PluginRuntime", dependencies: ["AuditReading", "FileEvents", "RuleEngine", "Detection", "Outputs", "CCapNG"]),
        .executableTarget(
            name: "AudispLKM",
            dependencies: [
                "AuditReading", "FileEvents", "RuleEngine", "Detection", "Outputs", "PluginRuntime", "Compliance",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fixture locations and replay helpers shared by the test targets.
        .target(name: "TestSupport", dependencies: ["AuditReading", "FileEvents", "RuleEngine"], path: "Tests/TestSupport"),
        .testTarget(name: "AuditReadingTests", dependencies: ["AuditReading", "TestSupport"]),
        .testTarget(name: "FileEventsTests", dependencies: ["FileEvents", "AuditReading", "RuleEngine", "TestSupport"]),
        .testTarget(name: "RuleEngineTests", dependencies: ["RuleEngine", "FileEvents", "TestSupport"]),
        .testTarget(name: "DetectionTests", dependencies: ["Detection", "AuditReading", "FileEvents", "RuleEngine", "TestSupport"]),
        .testTarget(name: "OutputsTests", dependencies: ["Outputs", "FileEvents", "RuleEngine", "TestSupport"]),
        .testTarget(name: "PluginRuntimeTests", dependencies: ["PluginRuntime", "RuleEngine", "FileEvents", "TestSupport"]),
        .testTarget(name: "ComplianceTests", dependencies: ["Compliance", "RuleEngine", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["AudispLKM", "RuleEngine", "TestSupport"]),
    ]
)
