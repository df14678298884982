using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ReachProbe.Agent;
using ReachProbe.Probes;
using ReachProbe.Wire;

namespace ReachProbe.Tests.Agent;

/// <summary>
/// SIGHUP's reload (<see cref="ConfigReloader.ReloadAsync"/>) on a fake clock, with a real Quartz scheduler that is never
/// started: what is kept, what is refused, and that every fault is logged rather than lost in the signal's task.
/// </summary>
public sealed class ConfigReloaderTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 14, 20, 0, 0, TimeSpan.Zero));
    private readonly IHost _host;
    private readonly ListLogger<ConfigReloader> _log = new();

    public ConfigReloaderTests()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IProbeResultSink>(new NoSink());
        builder.Services.AddProbeScheduler([], _clock);
        _host = builder.Build();
    }

    private sealed class NoSink : IProbeResultSink
    {
        public void Record(ScheduledProbe probe, ProbeResult result, DateTimeOffset at) { }
    }

    /// <summary>A logger that keeps what it was told.</summary>
    internal sealed class ListLogger<T> : ILogger<T>
    {
        public List<(LogLevel Level, string Message, Exception? Error)> Entries { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries) Entries.Add((logLevel, formatter(state, exception), exception));
        }
    }

    private static TargetConfig Target(string name, string ip) =>
        new() { Name = name, Ip = IPAddress.Parse(ip), Probes = [], Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) };

    private ConfigReloader Reloader(AgentConfig initial, Func<AgentConfig> load)
    {
        var metrics = new AgentMetrics(Prometheus.Metrics.NewCustomRegistry());
        var service = new AgentService(initial, "lab0", metrics, NullLogger<AgentService>.Instance, _clock, _host.Services.GetRequiredService<IHostApplicationLifetime>());
        return new ConfigReloader(load, initial, service, _host.Services.GetRequiredService<ProbeRegistry>(), _host.Services.GetRequiredService<Quartz.ISchedulerFactory>(),
            _log, _clock);
    }

    [Fact]
    public async Task ReloadAsync_CaptureViewChanged_KeepsTheRunningView_AndSaysSoAtEveryReload()
    {
        var initial = new AgentConfig { History = null, View = CaptureView.Full, Targets = [Target("console", "198.18.0.27")] };
        var reloader = Reloader(initial, () => initial with { View = CaptureView.Switched, Targets = [Target("console", "198.18.0.27"), Target("router", "198.18.0.1")] });

        Assert.True(await reloader.ReloadAsync(CancellationToken.None));
        Assert.Equal(CaptureView.Full, reloader.Current.View); // the view is read at start only: the one in force stays
        Assert.Equal(2, reloader.Current.Targets.Count);
        Assert.True(await reloader.ReloadAsync(CancellationToken.None));
        Assert.Equal(CaptureView.Full, reloader.Current.View);
        // Said at both reloads: the file still asks for what the agent does not do.
        Assert.Equal(2, _log.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains("capture.view changed", StringComparison.Ordinal)));
    }

    [Fact]
    public void KeepRestartOnly_TakesEverySettingThatNeedsARestartFromTheRunningConfiguration()
    {
        var running = new AgentConfig { History = null, View = CaptureView.Full, Targets = [Target("console", "198.18.0.27")] };
        var next = new AgentConfig
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 9943), Interface = "br1", History = "/tmp/other.db", LogLevel = "Debug", View = CaptureView.Switched,
            Targets = [Target("router", "198.18.0.1")],
        };
        next.Thresholds.SilenceWindow = TimeSpan.FromSeconds(60);
        Assert.Equal(["listen", "interface", "history", "logLevel", "capture.view", "thresholds"], ConfigChange.Between(running, next).NeedRestart);
        var kept = ConfigChange.KeepRestartOnly(next, running);
        Assert.Empty(ConfigChange.Between(running, kept).NeedRestart);
        Assert.Equal(["router"], kept.Targets.Select(t => t.Name)); // the targets are the new file's
    }

    [Fact]
    public async Task ReloadAsync_LoadFails_Unexpectedly_IsLoggedAndTheRunningConfigurationStays()
    {
        var initial = new AgentConfig { History = null, Targets = [Target("console", "198.18.0.27")] };
        var reloader = Reloader(initial, () => throw new InvalidOperationException("the disk went away"));

        Assert.False(await reloader.ReloadAsync(CancellationToken.None));
        var error = Assert.Single(_log.Entries, e => e.Level == LogLevel.Error);
        Assert.Equal("reload failed; the running configuration stays", error.Message);
        Assert.Equal("the disk went away", error.Error?.Message);
        Assert.Same(initial, reloader.Current);
    }

    [Fact]
    public async Task ReloadAsync_BadFile_EachProblemLogged_AndRefused()
    {
        var initial = new AgentConfig { History = null, Targets = [Target("console", "198.18.0.27")] };
        var reloader = Reloader(initial, () => AgentConfig.Parse("""{ "thresholds": { "overdueFloorSeconds": 600, "overdueMaxSeconds": 60 } }""", "reachprobe.json"));

        Assert.False(await reloader.ReloadAsync(CancellationToken.None));
        Assert.Equal(
            ["reload: reachprobe.json: $.thresholds.overdueFloorSeconds: must not exceed overdueMaxSeconds (60), not 600", "reload refused (1 problem(s)); the running configuration stays"],
            _log.Entries.Select(e => e.Message));
        Assert.Same(initial, reloader.Current);
    }

    public void Dispose()
    {
        var schedulers = _host.Services.GetRequiredService<Quartz.ISchedulerFactory>();
        foreach (var s in schedulers.GetAllSchedulers().GetAwaiter().GetResult()) s.Shutdown(false).GetAwaiter().GetResult();
        _host.Dispose();
    }

    [Fact]
    public void Labels_TakeEffectAtTheNextRestart()
    {
        var running = AgentConfig.Parse("""{ "targets": [ { "ip": "198.18.0.27", "name": "console", "labels": { "room": "living" } } ] }""", "test");
        var moved = AgentConfig.Parse("""{ "targets": [ { "ip": "198.18.0.27", "name": "console", "labels": { "room": "den" } } ] }""", "test");
        var change = ConfigChange.Between(running, moved);
        Assert.Equal(["labels"], change.NeedRestart);
        Assert.Empty(change.Changed);
        Assert.Equal("living", ConfigChange.KeepRestartOnly(moved, running).Targets[0].Labels["room"]);
        // A new target with a label name already in use is not a restart; a new label name is.
        var added = AgentConfig.Parse("""{ "targets": [ { "ip": "198.18.0.27", "name": "console", "labels": { "room": "living" } }, { "ip": "198.18.0.28", "labels": { "room": "den" } } ] }""", "test");
        Assert.Empty(ConfigChange.Between(running, added).NeedRestart);
        var newName = AgentConfig.Parse("""{ "targets": [ { "ip": "198.18.0.27", "name": "console", "labels": { "room": "living" } }, { "ip": "198.18.0.28", "labels": { "model": "PS5" } } ] }""", "test");
        Assert.Equal(["labels"], ConfigChange.Between(running, newName).NeedRestart);
    }

    [Fact]
    public async Task AddDiscovered_NewDevicesBecomeTargets_NeverASecondForOneWatched_WithinMaxTargets_KeptThroughAReload()
    {
        var initial = AgentConfig.Parse("""
            { "maxTargets": 4, "discover": { "watch": true },
              "targets": [ { "name": "console", "ip": "198.18.0.27" }, { "name": "ps5", "mac": "02:00:00:00:00:55" } ] }
            """, "test");
        var file = initial;
        var reloader = Reloader(initial, () => file);
        TargetConfig Found(string name, string mac, string ip) => new()
        {
            Name = name, Mac = mac, Ip = IPAddress.Parse(ip), Probes = [], Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1),
            Labels = new Dictionary<string, string> { ["discovered"] = "true" },
        };
        var added = await reloader.AddDiscoveredAsync([
            Found("PS4-LAB", "02:00:00:00:00:27", "198.18.0.27"), // at the address "console" is watched at: that target
            Found("other", "02:00:00:00:00:55", "198.18.0.55"),   // ps5's MAC: that target
            Found("console", "02:00:00:00:00:31", "198.18.0.31"), // a name in use: named by its MAC
            Found("PS5-B", "02:00:00:00:00:32", "198.18.0.32"),
            Found("PS5-C", "02:00:00:00:00:33", "198.18.0.33"),   // past maxTargets (4)
        ], CancellationToken.None);
        Assert.Equal(["02:00:00:00:00:31", "PS5-B"], added.Select(t => t.Name));
        Assert.Equal(4, reloader.Current.Targets.Count);
        Assert.Empty(await reloader.AddDiscoveredAsync([Found("PS5-B", "02:00:00:00:00:32", "198.18.0.32")], CancellationToken.None)); // once only

        // A reload of the file (which never named them) keeps them; discover's settings wait for a restart.
        file = AgentConfig.Parse("""{ "maxTargets": 4, "discover": { "watch": true, "kinds": ["xbox"] }, "targets": [ { "name": "console", "ip": "198.18.0.27" }, { "name": "ps5", "mac": "02:00:00:00:00:55" } ] }""", "test");
        Assert.True(await reloader.ReloadAsync(CancellationToken.None));
        Assert.Equal(["console", "ps5", "02:00:00:00:00:31", "PS5-B"], reloader.Current.Targets.Select(t => t.Name));
        Assert.Equal(["playstation"], reloader.Current.Discover!.Kinds);
        Assert.Contains(_log.Entries, e => e.Message.Contains("discover", StringComparison.Ordinal) && e.Message.Contains("next restart", StringComparison.Ordinal));
    }

    [Fact]
    public void ConfigChange_ATargetByHostName_IsTheSameWhileItsNameIs()
    {
        var before = AgentConfig.Parse("""{ "targets": [ { "name": "console", "host": "console.lan" } ] }""", "test");
        var renamedHost = AgentConfig.Parse("""{ "targets": [ { "name": "console", "host": "ps5.lan" } ] }""", "test");
        var change = ConfigChange.Between(before, renamedHost);
        Assert.Single(change.Added);
        Assert.Single(change.Removed);
        Assert.True(ConfigChange.Between(before, AgentConfig.Parse("""{ "targets": [ { "name": "console", "host": "CONSOLE.lan." } ] }""", "test")).IsEmpty);
    }
}
