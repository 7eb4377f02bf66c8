import ArgumentParser
import Compliance
import Glibc
import HostFiles
import Outputs
import RuleEngine

/// `audisp-lkm inventory`: the module configuration as it stands.
struct InventoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "The kernel-module configuration as it stands: every file, its package, the directives in effect, a profile's verdicts.",
        discussion: """
            Lists every entry of every place the rule covers (the modprobe.d and \
            modules-load.d directories in /etc, /run, /usr/local/lib, /usr/lib and /lib, \
            and /etc/modules) with its type, owner, mode, size and times, the package \
            that owns it and whether its content still matches the package's checksum \
            (dpkg's database: md5sums, and Conffiles for files in /etc; or RPM's: rpm -qf \
            and rpm -V), or that no package owns it.

            Then the directives in effect (install, blacklist, options, alias, softdep, \
            remove; and the modules loaded at boot) after modprobe.d(5)'s precedence: a \
            file in /etc hides the same name in /run, /usr/local/lib and /usr/lib; only \
            *.conf files (for kmod also *.alias) are read, in name order; a link to \
            /dev/null masks a name; for install and remove the first directive whose \
            module, a pattern (fnmatch), matches wins. Files are read as kmod 30 reads \
            them, byte for byte (its line joining, its words, its `-` and `_`); a name is \
            read by its bytes and shown with \\xNN for each byte that is not printable \
            UTF-8 (\\\\ for a backslash), in every format. On this system (no --root), \
            kmod's own reading (`modprobe --showconfig`) is compared with it, taken again \
            if the files change meanwhile. What kmod reads but this cannot read whole (a \
            FIFO, a file over 64 MiB, a file or directory this user may not read, a link \
            to nothing, a place that is a file) is listed with why, and no control passes \
            while it stands.

            --profile NAME|FILE evaluates a compliance profile: for each control, whether \
            its module is not loadable the way the document's audit checks (an install \
            line whose command is exactly /bin/false or /bin/true, and/or a blacklist \
            line), and if not, the lines that fix it. Built in: \(ComplianceProfile.builtInNames.joined(separator: ", ")). \
            A profile file has the same TOML shape (see docs/manual.md, \"audisp-lkm inventory\").

            Read-only; runs unprivileged wherever the files are readable. --root DIR reads \
            a mounted image or a copy (its own /etc/passwd and dpkg database) instead of /.

            Exit status: 0, whatever is found (--fail-on-control makes a failing control \
            status 1); 2 on unusable arguments.

            Examples:
              audisp-lkm inventory
              audisp-lkm inventory --profile cis-debian-12 --format html -o inventory.html
              audisp-lkm inventory --root /mnt/image --profile stig-rhel-9 --format json
            """
    )

    @Option(help: ArgumentHelp("Read the system under this directory instead of /.", valueName: "dir"))
    var root: String = "/"

    @Option(help: ArgumentHelp("A compliance profile: a built-in name or a file.", valueName: "profile"))
    var profile: String?

    @Option(help: "Output format: text, json, csv or html.")
    var format: EvidenceFormat = .text

    @Option(help: ArgumentHelp("With --format csv, the table: files, directives or controls.", valueName: "table"))
    var table: InventoryTable = .files

    enum InventoryTable: String, ExpressibleByArgument, CaseIterable { case files, directives, controls }

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Load this detection-rules TOML file (its places) instead of the built-in rule.", valueName: "file"))
    var rule: String?

    @Flag(name: .customLong("fail-on-control"), help: "Exit with status 1 when a control of the profile fails.")
    var failOnControl = false

    func validate() throws {
        guard let status = try? RawPath(root).status(followingLinks: true), status.st_mode & S_IFMT == S_IFDIR else { throw ValidationError("--root \(root): not a directory") }
        if table == .controls && profile == nil { throw ValidationError("--table controls needs --profile") }
    }

    func run() throws {
        let detectionRule = try DetectionRule.selected(rule)
        let loadedProfile = try ComplianceProfile.selected(profile)
        let root = self.root.count > 1 && self.root.hasSuffix("/") ? String(self.root.dropLast()) : self.root
        let inventory = Inventory.take(root: root, locations: detectionRule.locations, profile: loadedProfile)
        let destination = try EvidenceOutput.selected(output)
        let tables = HostStateEvidence.inventoryTables(inventory)
        switch format {
        case .text:
            for table in tables { destination.write(table.text + "\n") }
        case .json:
            for document in HostStateEvidence.inventoryJSON(inventory) { destination.write(line: document) }
        case .csv:
            let chosen: Table? = switch table {
            case .files: HostStateEvidence.filesTable(inventory)
            case .directives: HostStateEvidence.directivesTable(inventory)
            case .controls: HostStateEvidence.controlsTable(inventory)
            }
            destination.write(chosen?.csv ?? "")
        case .html:
            destination.write(HTMLPage.head(title: "Kernel-module configuration on \(inventory.hostName) at \(isoTime(inventory.taken))"))
            destination.write("<h1>What is configured now?</h1>\n")
            for table in tables { destination.write(table.html) }
            destination.write(HTMLPage.foot)
        }
        do { try destination.close() } catch { throw ValidationError("\(error)") }
        if failOnControl && inventory.verdicts.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }
}
