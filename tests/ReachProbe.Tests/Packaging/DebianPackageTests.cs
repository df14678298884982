using System.Diagnostics;
using System.Text.RegularExpressions;
using ReachProbe.Tests.Config;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Packaging;

/// <summary>The packages <c>bash .ci/package</c> builds, once for the class (or those in $REACHPROBE_DIST).</summary>
public sealed class Packages
{
    public string Dir { get; }
    public string Version { get; }

    public Packages()
    {
        Version = Regex.Match(File.ReadAllText(RepoFiles.Path("Directory.Build.props")), "<Version>(.*)</Version>").Groups[1].Value;
        if (Environment.GetEnvironmentVariable("REACHPROBE_DIST") is { Length: > 0 } given)
        {
            Dir = given;
            return;
        }
        Dir = RepoFiles.Path("dist");
        var (code, output) = RepoFiles.Run("bash", RepoFiles.Path(), ".ci/package");
        if (code != 0) throw new InvalidOperationException($"bash .ci/package failed ({code}):\n{output}");
    }

    public string Deb(string arch) => Path.Combine(Dir, $"reachprobe_{Version}_{arch}.deb");
}

/// <summary>
/// The Debian packages as a person meets them: their control data and files, lintian, the systemd unit, and the
/// program itself installed into a throwaway root and run with no .NET on the machine's PATH — the amd64 build
/// natively, the arm64 build under qemu-user — for its version, an analysis, and the agent in the lab.
/// </summary>
[Trait("Category", "Lab")]
public sealed class DebianPackageTests(Packages packages, ITestOutputHelper output) : IClassFixture<Packages>, IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("reachprobe-package-");

    public void Dispose() => _dir.Delete(true);

    private static (int Code, string Out) Sh(string file, params string[] args) => RepoFiles.Run(file, "/", args);

    [Theory]
    [InlineData("amd64")]
    [InlineData("arm64")]
    public void Package_ControlContentsAndLintian(string arch)
    {
        var deb = packages.Deb(arch);
        Assert.True(File.Exists(deb), $"{deb} was not built");
        var (code, info) = Sh("dpkg-deb", "--info", deb);
        Assert.Equal(0, code);
        Assert.Contains($" Version: {packages.Version}\n", info);
        Assert.Contains($" Architecture: {arch}\n", info);
        var depends = Regex.Match(info, @" Depends: (.*)\n").Groups[1].Value;
        Assert.Contains("libpcap0.8", depends);
        Assert.Contains("libc6", depends);
        Assert.Contains("libssl3", depends); // loaded at run time: the runtime aborts at start without it
        Assert.DoesNotContain("libicu", depends); // invariant globalization
        Assert.Contains("conffiles", info);
        var (_, contents) = Sh("dpkg-deb", "--contents", deb);
        foreach (var path in new[] { "./usr/lib/reachprobe/reachprobe", "./usr/bin/reachprobe -> ../lib/reachprobe/reachprobe", "./lib/systemd/system/reachprobe.service",
                     "./etc/reachprobe/reachprobe.json", "./usr/share/reachprobe/alerts.yml", "./usr/share/reachprobe/grafana/reachprobe-dashboard.json",
                     "./usr/share/reachprobe/grafana/reachprobe-history-dashboard.json", "./usr/share/reachprobe/grafana/provisioning/datasources/reachprobe-history.yml",
                     "./usr/share/man/man1/reachprobe.1.gz", "./usr/share/doc/reachprobe/copyright", "./usr/share/doc/reachprobe/changelog.gz" })
            Assert.Contains(path, contents);
        Assert.DoesNotMatch(@"\.pdb\n", contents);
        var (lintianCode, lintian) = Sh("lintian", "--fail-on", "error", deb);
        output.WriteLine(lintian);
        Assert.True(lintianCode == 0 && !lintian.Contains("\nE: ", StringComparison.Ordinal) && !lintian.StartsWith("E: ", StringComparison.Ordinal), lintian);
    }

    [Fact]
    public void Unit_VerifiesWithSystemd_AndTheConffileWatchesTheGateway()
    {
        var root = Extract("amd64");
        var unit = File.ReadAllText(Path.Combine(root, "lib/systemd/system/reachprobe.service"));
        Assert.Contains("ExecStart=/usr/bin/reachprobe run --config /etc/reachprobe/reachprobe.json", unit);
        foreach (var line in new[] { "Type=notify", "DynamicUser=yes", "StateDirectory=reachprobe", "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN", "CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN" })
            Assert.Contains(line + "\n", unit);
        var copy = Path.Combine(_dir.FullName, "reachprobe.service");
        File.WriteAllText(copy, unit.Replace("/usr/bin/reachprobe", Path.Combine(root, "usr/bin/reachprobe"), StringComparison.Ordinal));
        var (code, verify) = Sh("systemd-analyze", "verify", "--man=no", copy);
        Assert.True(code == 0, verify);
        // The conffile as installed is a valid configuration with no target: the agent watches the default gateway.
        var config = ReachProbe.Agent.AgentConfig.Load(Path.Combine(root, "etc/reachprobe/reachprobe.json"));
        Assert.Empty(config.Targets);
        Assert.Equal(ReachProbe.Agent.AgentConfig.DefaultHistory, config.History);
    }

    private string Extract(string arch)
    {
        var root = Path.Combine(_dir.FullName, "root-" + arch);
        Directory.CreateDirectory(root);
        var (code, text) = Sh("dpkg-deb", "-x", packages.Deb(arch), root);
        Assert.True(code == 0, text);
        return root;
    }

    /// <summary>The program from the package, as <paramref name="arch"/> runs here: natively, or under qemu-user.</summary>
    private static string[] Program(string root, string arch) => arch == "amd64"
        ? [Path.Combine(root, "usr/bin/reachprobe")]
        : ["/usr/bin/qemu-aarch64-static", "-L", "/", Path.Combine(root, "usr/lib/reachprobe/reachprobe")];

    [Theory]
    [InlineData("amd64", "linux-x64")]
    [InlineData("arm64", "linux-arm64")]
    public void Installed_RunsWithNoDotnet_VersionAnalyzeAndTheAgentInTheLab(string arch, string rid)
    {
        if (arch == "arm64") Assert.True(File.Exists("/usr/bin/qemu-aarch64-static"), "qemu-user-static is needed to run the arm64 build (bash .ci/deps installs it)");
        var root = Extract(arch);
        using var lab = ReachProbe.Tests.Lab.Lab.Create(output);
        lab.Program = Program(root, arch);
        // No .NET anywhere the program could look: an empty PATH, no DOTNET_ROOT; the emulator needs W^X off.
        var empty = Directory.CreateDirectory(Path.Combine(_dir.FullName, "empty-path")).FullName;
        lab.ProgramEnvironment["PATH"] = empty;
        lab.ProgramEnvironment["DOTNET_ROOT"] = null;
        if (arch == "arm64") lab.ProgramEnvironment["DOTNET_EnableWriteXorExecute"] = "0";

        var watch = Stopwatch.StartNew();
        var (code, version, err) = lab.Reachprobe("--version");
        output.WriteLine($"{arch}: --version in {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.True(code == 0, err);
        Assert.Matches($@"^reachprobe {Regex.Escape(packages.Version)} \(commit ([0-9a-f]{{12}}|unknown); \.NET 10\.\d+\.\d+\S* {rid}\)\n$", version);

        var capture = ReachProbe.Testing.Scenarios.FieldReport().WriteTo(Path.Combine(_dir.FullName, "field-report.pcap"));
        var (analyzeCode, timeline, analyzeErr) = lab.Reachprobe("analyze", capture, "--quiet");
        Assert.True(analyzeCode == 0, analyzeErr);
        Assert.Contains("deaf", timeline);
        Assert.Contains("answered ARP, after 240.5 s deaf", timeline);

        // probe: a verdict for the router (under emulation there is no capture: the answers alone say up).
        var (probeCode, probe, probeErr) = lab.Reachprobe("probe", ReachProbe.Testing.LabNetwork.RouterIp, "--count", "2", "--interval", "0.2", "--timeout", "1");
        Assert.True(probeCode == 0, probe + probeErr);
        Assert.Contains("verdict: up — ", probe);

        lab.StartChatter();
        var agent = lab.StartAgent(["--target", ReachProbe.Testing.LabNetwork.ConsoleIp, "--interval", "1", "--listen", $"{ReachProbe.Testing.LabNetwork.ProbeIp}:9942"]);
        string metrics;
        if (arch == "amd64")
        {
            WaitForState(lab, "up", TimeSpan.FromSeconds(30));
            lab.MakeDeaf();
            metrics = WaitForState(lab, "deaf", TimeSpan.FromSeconds(30));
        }
        else
        {
            // qemu-user does not implement the ethtool ioctl libpcap uses to list interfaces, so under emulation there
            // is no capture (on a Raspberry Pi there is): the agent must say so and go on — serving metrics, probing —
            // with its target unknown, never stop. Its ICMP probe answers through the emulator.
            metrics = WaitFor(lab, $"reachprobe_probes_total{{target=\"{ReachProbe.Testing.LabNetwork.ConsoleIp}\",probe=\"icmp\",result=\"answered\"}}", TimeSpan.FromSeconds(120));
            Assert.Contains("reachprobe_capture_up{interface=\"br0\"} 0", metrics);
            Assert.Contains($"reachprobe_target_state{{target=\"{ReachProbe.Testing.LabNetwork.ConsoleIp}\",state=\"unknown\"}} 1", metrics);
            // The console logger writes on a thread of its own: give the line a moment.
            var logged = Stopwatch.StartNew();
            bool Said() { lock (lab.AgentLog) return lab.AgentLog.ToString().Contains("cannot list capture devices: ", StringComparison.Ordinal); }
            while (!Said() && logged.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(200);
            lock (lab.AgentLog) Assert.True(Said(), "the capture's failure was not logged:\n" + lab.AgentLog);
        }
        // report reads the history the agent is writing.
        var (reportCode, report, reportErr) = lab.Reachprobe("report", "--db", lab.HistoryPath, "--since", "1d");
        Assert.True(reportCode == 0, report + reportErr);
        Assert.Contains("watched", report);
        Assert.Matches($@"reachprobe_build_info\{{version=""{Regex.Escape(packages.Version)}"",commit=""([0-9a-f]{{12}}|unknown)"",runtime="".NET [^""]* {rid}""\}} 1", metrics);
        Assert.False(agent.HasExited);
    }

    /// <summary>
    /// README's Install section followed as written, on this machine: the amd64 package installed with apt, the service
    /// enabled; its ExecStart run as systemd would (in the lab's probe namespace, whose gateway is the lab's router, with
    /// the state directory systemd makes for a DynamicUser unit) watching the gateway; the conffile edited to list the
    /// console and reloaded; then an upgrade (the same package at a higher version) that must keep the edited
    /// configuration, without asking, and the history; removal, which keeps both; and purge, which removes both. It
    /// changes the machine (CI's is thrown away), so it refuses to run where ReachProbe is already installed.
    /// </summary>
    [Fact]
    public void Install_AsReadmeSays_UpgradeKeepsConfigurationAndHistory_PurgeRemovesThem()
    {
        var (_, status) = Sh("dpkg-query", "-W", "-f", "${Status}", "reachprobe");
        Assert.False(status.Contains(" installed", StringComparison.Ordinal) || status.Contains("config-files", StringComparison.Ordinal),
            $"reachprobe is installed on this machine ({status}): this test installs, upgrades and purges it; run it where it is not (CI)");
        const string Config = "/etc/reachprobe/reachprobe.json", State = "/var/lib/private/reachprobe", History = "/var/lib/reachprobe/history.db";
        const string Wants = "/etc/systemd/system/multi-user.target.wants/reachprobe.service";
        var hadPrivate = Directory.Exists("/var/lib/private");
        try
        {
            var (code, text) = Sh("sh", "-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \"$1\" </dev/null", "sh", packages.Deb("amd64"));
            Assert.True(code == 0, text);
            var (_, version) = Sh("/usr/bin/reachprobe", "--version");
            Assert.StartsWith($"reachprobe {packages.Version} ", version);
            Assert.Equal("/lib/systemd/system/reachprobe.service", new FileInfo(Wants).LinkTarget);
            var man = Sh("sh", "-c", "zcat /usr/share/man/man1/reachprobe.1.gz").Out;
            Assert.Contains(".SH REACHPROBE RUN", man);

            // The service as systemd starts it: ExecStart, with the state directory a DynamicUser unit gets.
            var unit = File.ReadAllText("/lib/systemd/system/reachprobe.service");
            var exec = Regex.Match(unit, "^ExecStart=(.*)$", RegexOptions.Multiline).Groups[1].Value.Split(' ');
            Directory.CreateDirectory(State);
            File.CreateSymbolicLink("/var/lib/reachprobe", "private/reachprobe");
            using (var lab = ReachProbe.Tests.Lab.Lab.Create(output))
            {
                lab.RouteDefaultViaRouter();
                lab.StartChatter();
                lab.Program = [exec[0]];
                lab.ProgramEnvironment["STATE_DIRECTORY"] = "/var/lib/reachprobe";
                var agent = lab.StartAgent(exec[2..], labHistory: false);
                // As installed it watches the default gateway: the lab's router.
                WaitFor(lab, $"reachprobe_target_state{{target=\"{ReachProbe.Testing.LabNetwork.RouterIp}\",state=\"up\"}} 1", TimeSpan.FromSeconds(30));
                // "list your console(s) under targets", then "systemctl reload reachprobe" (the unit's ExecReload: SIGHUP).
                File.WriteAllText(Config, File.ReadAllText(Config).Replace(
                    """// { "name": "console", "ip": "192.168.1.27", "firmware": "11.00" },""",
                    $$"""{ "name": "console", "ip": "{{ReachProbe.Testing.LabNetwork.ConsoleIp}}", "firmware": "11.00" },""", StringComparison.Ordinal));
                Assert.Contains("ExecReload=/bin/kill -HUP $MAINPID", unit);
                Sh("kill", "-HUP", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                // A named target is labelled by its name.
                WaitFor(lab, """reachprobe_target_state{target="console",state="up"} 1""", TimeSpan.FromSeconds(30));
                Sh("kill", "-TERM", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Assert.True(agent.WaitForExit(30_000), "the installed agent did not stop on SIGTERM");
            }
            Assert.True(File.Exists(Path.Combine(State, "history.db")), "the service kept no history in its state directory");
            var edited = File.ReadAllText(Config);

            // An upgrade: the same package at a higher version. A conffile prompt would fail here (no terminal).
            var next = Repack(packages.Deb("amd64"), packages.Version + "+1");
            (code, text) = Sh("sh", "-c", "DEBIAN_FRONTEND=noninteractive dpkg -i \"$1\" </dev/null", "sh", next);
            Assert.True(code == 0, text);
            Assert.StartsWith($"reachprobe {packages.Version} ", Sh("/usr/bin/reachprobe", "--version").Out);
            Assert.Contains($"{packages.Version}+1", Sh("dpkg-query", "-W", "-f", "${Version}", "reachprobe").Out);
            Assert.Equal(edited, File.ReadAllText(Config));
            Assert.Equal("/lib/systemd/system/reachprobe.service", new FileInfo(Wants).LinkTarget);
            var (reportCode, report) = Sh("/usr/bin/reachprobe", "report", "--db", History, "--since", "1d");
            Assert.True(reportCode == 0, report);
            // The history recorded before the upgrade: the console's firmware, watched.
            Assert.True(report.Contains("11.00", StringComparison.Ordinal) && report.Contains("watched", StringComparison.Ordinal), report);

            // Removed: the program goes; the configuration and the history stay.
            (code, text) = Sh("dpkg", "--remove", "reachprobe");
            Assert.True(code == 0, text);
            Assert.False(File.Exists("/usr/lib/reachprobe/reachprobe"));
            Assert.Equal(edited, File.ReadAllText(Config));
            Assert.True(File.Exists(Path.Combine(State, "history.db")), "removing the package lost the history");

            // Purged: nothing is left.
            (code, text) = Sh("dpkg", "--purge", "reachprobe");
            Assert.True(code == 0, text);
            foreach (var gone in new[] { "/etc/reachprobe", State, "/var/lib/reachprobe", Wants, "/etc/systemd/system/reachprobe.service" })
                Assert.False(Path.Exists(gone) || new FileInfo(gone).LinkTarget is not null, $"{gone} is left after purge");
        }
        finally
        {
            Sh("dpkg", "--purge", "reachprobe");
            if (new FileInfo("/var/lib/reachprobe").LinkTarget is not null) File.Delete("/var/lib/reachprobe");
            if (Directory.Exists(State)) Directory.Delete(State, recursive: true);
            if (!hadPrivate && Directory.Exists("/var/lib/private") && !Directory.EnumerateFileSystemEntries("/var/lib/private").Any()) Directory.Delete("/var/lib/private");
        }
    }

    /// <summary>The package rebuilt with another version (what an upgrade installs); the file is in the test's directory.</summary>
    private string Repack(string deb, string version)
    {
        var tree = Path.Combine(_dir.FullName, "repack");
        var (code, text) = Sh("dpkg-deb", "-R", deb, tree);
        Assert.True(code == 0, text);
        var control = Path.Combine(tree, "DEBIAN", "control");
        File.WriteAllText(control, Regex.Replace(File.ReadAllText(control), "^Version: .*$", $"Version: {version}", RegexOptions.Multiline));
        var next = Path.Combine(_dir.FullName, $"reachprobe_{version}_amd64.deb");
        (code, text) = Sh("dpkg-deb", "--root-owner-group", "-b", tree, next);
        Assert.True(code == 0, text);
        return next;
    }

    private static string WaitForState(ReachProbe.Testing.LabNetwork lab, string state, TimeSpan limit) =>
        WaitFor(lab, $"reachprobe_target_state{{target=\"{ReachProbe.Testing.LabNetwork.ConsoleIp}\",state=\"{state}\"}} 1", limit);

    /// <summary>Polls /metrics until it contains <paramref name="text"/>; returns that exposition.</summary>
    private static string WaitFor(ReachProbe.Testing.LabNetwork lab, string text, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        string? last = null;
        while (watch.Elapsed < limit)
        {
            last = lab.HttpGet(ReachProbe.Testing.LabNetwork.ProbeIp, 9942, "/metrics");
            if (last?.Contains(text, StringComparison.Ordinal) == true) return last;
            Thread.Sleep(500);
        }
        lock (lab.AgentLog) Assert.Fail($"the packaged agent's /metrics never showed {text} within {limit}; agent log:\n{lab.AgentLog}\nlast exposition:\n{last}");
        return "";
    }
}
