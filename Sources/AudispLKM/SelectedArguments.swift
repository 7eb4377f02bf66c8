import ArgumentParser
import Compliance
import Outputs
import RuleEngine
import Settings

// The file arguments `replay`, `report` and `inventory` share, each loaded one way: a file
// that does not load is an unusable argument (status 2), said before any work is done.

extension DetectionRule {
    /// `--rule FILE`, or the built-in rule.
    static func selected(_ file: String?) throws -> DetectionRule {
        guard let file else { return DetectionRule.defaultRule() }
        do { return try DetectionRule(contentsOf: file) } catch { throw ValidationError(error.description) }
    }
}

extension PluginConfiguration {
    /// `--config FILE` (a missing default file means the defaults) and the rule it names,
    /// for the commands that act on this host as the plugin would (`watches`, `baseline`).
    static func selected(_ config: String) throws -> (PluginConfiguration, DetectionRule) {
        do {
            let configuration = try PluginConfiguration.load(path: config, required: config != defaultPath) ?? PluginConfiguration()
            return (configuration, try configuration.loadRule())
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

extension ComplianceProfile {
    /// `--profile NAME|FILE`, or none.
    static func selected(_ profile: String?) throws -> ComplianceProfile? {
        guard let profile else { return nil }
        do { return try ComplianceProfile.load(profile) } catch { throw ValidationError("\(error)") }
    }
}

extension EvidenceOutput {
    /// `-o FILE`, or standard output.
    static func selected(_ path: String?) throws -> EvidenceOutput {
        guard let path else { return EvidenceOutput() }
        do { return try EvidenceOutput(path: path) } catch { throw ValidationError("\(error)") }
    }
}
