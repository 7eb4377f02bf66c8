import FileEvents

/// A detection rule in Elastic's detection-rules TOML format, with its query compiled.
public struct DetectionRule: Sendable {
    public var name: String
    public var ruleID: String
    /// detection-rules keeps versions outside the TOML; a file may give `version` in
    /// `[rule]` or `[metadata]`. The embedded default is version 1.
    public var version: Int?
    public var description: String
    public var severity: String
    public var riskScore: Int
    public var authors: [String]
    public var license: String?
    public var references: [String]
    public var tags: [String]
    public var query: String
    public var threats: [Threat]
    public var condition: Condition

    /// MITRE ATT&CK: a tactic and its techniques, with ids and reference URLs.
    public struct Threat: Sendable, Equatable {
        public var framework: String
        public var tactic: Entry
        public var techniques: [Technique]
    }

    public struct Technique: Sendable, Equatable {
        public var entry: Entry
        public var subtechniques: [Entry]
    }

    public struct Entry: Sendable, Equatable {
        public var id: String
        public var name: String
        public var reference: String
    }

    /// The built-in rule's TOML text, verbatim (a starting point for an edited rule).
    public static var defaultRuleTOML: String { DefaultRule.toml }

    /// The rule audisp-lkm uses unless told otherwise.
    public static func defaultRule() -> DetectionRule {
        do {
            var rule = try DetectionRule(toml: DefaultRule.toml)
            rule.version = DefaultRule.version
            return rule
        } catch {
            fatalError("the embedded rule does not load: \(error)")
        }
    }

    /// Loads a rule from the text of a detection-rules TOML file.
    public init(toml text: String) throws(RuleError) {
        try self.init(toml: text, compilingQuery: true)
    }

    /// audisp-lkm's own rules' metadata (their verdicts are decided in code).
    static func embedded(_ toml: String) -> DetectionRule {
        do { return try DetectionRule(toml: toml, compilingQuery: false) } catch {
            fatalError("an embedded rule does not load: \(error)")
        }
    }

    /// `compilingQuery` false: the metadata only, for audisp-lkm's own rules, which are
    /// decided in code (their `query` says in words what they match).
    init(toml text: String, compilingQuery: Bool) throws(RuleError) {
        let root: TOMLTable
        do { root = try TOMLDocument.parse(text) } catch { throw RuleError(message: "TOML \(error)", position: nil) }
        guard let rule = root.table("rule") else { throw RuleError(message: "no [rule] table", position: nil) }
        func required(_ key: String) throws(RuleError) -> String {
            guard let value = rule.string(key) else { throw RuleError(message: "[rule] has no \(key)", position: nil) }
            return value
        }
        let type = rule.string("type") ?? "eql"
        let language = rule.string("language") ?? "eql"
        guard type == "eql", language == "eql" else {
            throw RuleError(message: "rule type \(type)/\(language) is not supported (only eql)", position: nil)
        }
        name = try required("name")
        ruleID = try required("rule_id")
        description = try required("description").trimmingTrailingNewlines
        severity = try required("severity")
        guard let risk = rule.integer("risk_score") else { throw RuleError(message: "[rule] has no risk_score", position: nil) }
        riskScore = risk
        query = compilingQuery ? try required("query") : rule.string("query") ?? ""
        version = rule.integer("version") ?? root.table("metadata")?.integer("version")
        authors = rule.strings("author") ?? []
        license = rule.string("license")
        references = rule.strings("references") ?? []
        tags = rule.strings("tags") ?? []
        threats = rule.tables("threat").map { threat in
            Threat(framework: threat.string("framework") ?? "MITRE ATT&CK",
                   tactic: Entry(threat.table("tactic") ?? TOMLTable()),
                   techniques: threat.tables("technique").map { technique in
                       Technique(entry: Entry(technique), subtechniques: technique.tables("subtechnique").map(Entry.init))
                   })
        }
        condition = compilingQuery ? try EQLParser.parse(query) : .all([])
    }

    /// Whether `event` is an alert under this rule.
    public func matches(_ event: FileEvent) -> Bool { condition.matches(event) }
}

extension DetectionRule.Entry {
    init(_ table: TOMLTable) {
        self.init(id: table.string("id") ?? "", name: table.string("name") ?? "", reference: table.string("reference") ?? "")
    }
}

extension String {
    fileprivate var trimmingTrailingNewlines: String {
        var text = self
        while text.last?.isNewline == true { text.removeLast() }
        return text
    }
}

extension FileEventNormalizer {
    /// A normaliser for logs read against `rule`: the places it covers (a place replaced
    /// wholesale is found) and the detector's watch keys (an unresolved file on one is in
    /// a place). `replay` and `report` make theirs so.
    public init(rule: DetectionRule, usrMerge: UsrMerge, watchKeys: [String]) {
        self.init(usrMerge: usrMerge)
        self.watchKeys = Set(watchKeys.map { Array($0.utf8) })
        paths.places = Set(rule.placeDirectories(usrMerge: usrMerge))
    }
}
