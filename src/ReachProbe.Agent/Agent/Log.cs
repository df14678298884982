using Microsoft.Extensions.Logging;

namespace ReachProbe.Agent;

/// <summary>
/// Every line the agent logs, in one place, each with its event id (Npgsql's LogMessages habit): 1xxx the analysis and
/// its verdicts, 2xxx the capture, 3xxx the probes, 4xxx the history, 5xxx configuration reloads, 6xxx the metrics endpoint. An id never changes
/// meaning; a journal or log shipper can select on it.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Critical, Message = "the analysis loop failed; stopping")]
    public static partial void LoopFailed(this ILogger log, Exception e);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "{Target} is {State}: {Why}")]
    public static partial void TargetFailing(this ILogger log, string target, string state, string why);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "{Target} is UP")]
    public static partial void TargetUp(this ILogger log, string target);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "{Target} is UP again after {Duration} ({Was})")]
    public static partial void TargetRecovered(this ILogger log, string target, string duration, string was);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "{Target} is UNKNOWN: {Why}")]
    public static partial void TargetUnknown(this ILogger log, string target, string why);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "{Target} is up but DEGRADED: {Probe} went unanswered {Misses} times in a row, though it answered before and other probes still answer (an input filter on the target?)")]
    public static partial void TargetDegraded(this ILogger log, string target, string probe, int misses);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "{Target}: waiting for its MAC on the wire to learn its address; unknown until then")]
    public static partial void AddressPending(this ILogger log, string target);

    [LoggerMessage(EventId = 1016, Level = LogLevel.Information, Message = "{Target}: waiting for its host name to resolve; unknown until then")]
    public static partial void NamePending(this ILogger log, string target);

    [LoggerMessage(EventId = 1017, Level = LogLevel.Warning, Message = "{Target}: its host name does not resolve: {Problem}; {Still} (the resolver's fault, not the target's)")]
    public static partial void ResolveFailed(this ILogger log, string target, string problem, string still);

    [LoggerMessage(EventId = 1018, Level = LogLevel.Information, Message = "{Target}: its host name resolves again")]
    public static partial void Resolved(this ILogger log, string target);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information, Message = "{Target} is at {Address}: probing it there")]
    public static partial void AddressLearned(this ILogger log, string target, string address);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Warning, Message = "{Target} moved from {From} to {To} (a new DHCP lease?): its probes follow it, its state and any open incident carry on")]
    public static partial void AddressChanged(this ILogger log, string target, string from, string to);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Warning, Message = "{Target} showed at {Address}, which {Other} is watched at: not followed there (two targets for one device?)")]
    public static partial void MoveRefused(this ILogger log, string target, string address, string other);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "{Target} answers {Probe} again: no longer degraded")]
    public static partial void TargetUndegraded(this ILogger log, string target, string probe);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "stopping after {Uptime}: {States}")]
    public static partial void Stopping(this ILogger log, string uptime, string states);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "{Target} ({Ip}): {Mac} claims its address, which belongs to {Own}: a duplicate address or a spoofer; its answers prove nothing")]
    public static partial void Conflict(this ILogger log, string target, string ip, string mac, string own);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "{Target} ({Ip}) now has MAC {Mac}: the old one fell silent and the new one answered for its address (a new network card?)")]
    public static partial void MacChanged(this ILogger log, string target, string ip, string mac);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "{Target}: a flood of wire evidence (over {Rate} a second of one kind): it is counted, not weighed, until it stops")]
    public static partial void Flood(this ILogger log, string target, int rate);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "the capture on {Interface} now sees the segment's {View} view")]
    public static partial void ViewChanged(this ILogger log, string @interface, string view);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "the capture on {Interface} starts with the {View} view ({How})")]
    public static partial void ViewAtStart(this ILogger log, string @interface, string view, string how);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "capturing on {Interface} with filter '{Filter}' (by {Kind}, {Instructions} BPF instructions; the kernel takes {Limit})")]
    public static partial void CaptureOpened(this ILogger log, string @interface, string filter, string kind, int instructions, int limit);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "capture on {Interface} failed: {Reason}; targets are unknown until it is back")]
    public static partial void CaptureFailed(this ILogger log, string @interface, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "{Ip}: its MAC {Mac} is also sending from bridge port {Port}: a cloned MAC? Its answers cannot be told from the clone's: unknown (down while its own port's link is down) until the clone is gone")]
    public static partial void MacCloned(this ILogger log, string ip, string mac, string port);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "{Target}: its echo reply reached the wire but not our socket; the monitor cannot see (a firewall on the monitor?), so the target is unknown")]
    public static partial void SocketBlind(this ILogger log, string target);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "history in {Path}; {CutShort} incident(s) left open by a crash closed as cut short")]
    public static partial void HistoryOpened(this ILogger log, string path, int cutShort);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "the incident history cannot be written: {Reason}; writes are kept and retried, monitoring and metrics go on")]
    public static partial void HistoryFailing(this ILogger log, string reason);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "the incident history in {Path} takes writes again; everything kept was written")]
    public static partial void HistoryHealed(this ILogger log, string path);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "stopping with {Count} history write(s) that could not be made")]
    public static partial void HistoryLost(this ILogger log, int count);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Error, Message = "reload failed; the running configuration stays")]
    public static partial void ReloadFailed(this ILogger log, Exception e);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "reload: {Problem}")]
    public static partial void ReloadProblem(this ILogger log, string problem);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "reload refused ({Count} problem(s)); the running configuration stays")]
    public static partial void ReloadRefused(this ILogger log, int count);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "reload: configuration unchanged")]
    public static partial void ReloadUnchanged(this ILogger log);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "configuration reloaded: {Added} target(s) added, {Removed} removed, {Changed} with new probes; {Kept} unchanged keep their state")]
    public static partial void Reloaded(this ILogger log, int added, int removed, int changed, int kept);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Warning, Message = "{Target}: following it to its new address: {Problem}")]
    public static partial void FollowProblem(this ILogger log, string target, string problem);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Error, Message = "{Target}: its probes could not follow it to its new address")]
    public static partial void FollowFailed(this ILogger log, string target, Exception e);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Information, Message = "discovered {Target}, a {Kind}{At}: watching it by its MAC")]
    public static partial void DiscoveredWatching(this ILogger log, string target, string kind, string at);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "discovery has added {Count} targets, the most discover.maxTargets allows: no more are added (a LAN full of forged announcements?)")]
    public static partial void DiscoveryCapped(this ILogger log, int count);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning, Message = "discovery on {Interface}: {Problem}; retried")]
    public static partial void DiscoveryFailed(this ILogger log, string @interface, string problem);

    [LoggerMessage(EventId = 5013, Level = LogLevel.Information, Message = "discovery on {Interface}: listening, and searching for PlayStations every {Interval}; watching {Kinds} as they appear")]
    public static partial void DiscoveryStarted(this ILogger log, string @interface, string interval, string kinds);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "reload: nothing to reload: the agent was started without a configuration file (its targets came from the command line or the default gateway)")]
    public static partial void NothingToReload(this ILogger log);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "reload: {Settings} changed; these take effect at the next restart")]
    public static partial void ReloadNeedsRestart(this ILogger log, string settings);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "metrics: cannot accept a connection: {Reason}")]
    public static partial void MetricsAcceptFailed(this ILogger log, string reason);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "metrics: a request failed")]
    public static partial void MetricsRequestFailed(this ILogger log, Exception error);

    [LoggerMessage(EventId = 1019, Level = LogLevel.Warning, Message = "{Target} is {State} on {Family} ({Address}), still {Device} on its other address: {Why}")]
    public static partial void FamilyChanged(this ILogger log, string target, string state, string family, string address, string device, string why);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "{Problem}: a device watched by its MAC is watched at its IPv6 address once it shows one on its own")]
    public static partial void IPv6SearchFailed(this ILogger log, string problem);
}
