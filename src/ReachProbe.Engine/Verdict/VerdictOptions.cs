using System.Globalization;
using ReachProbe.Settings;

namespace ReachProbe.Verdict;

/// <summary>Thresholds of the verdict engine and of the wire trackers that feed it.</summary>
public sealed class VerdictOptions
{
    /// <summary>
    /// How many pieces of negative evidence (unanswered echo or ARP, a query or SYN or ARP repeated after its answer)
    /// with no proof of receipt in between make the target deaf or down. Default 3, range 1–100. With 1 Hz pings this
    /// is three losses in a row: a healthy host with 5 % loss reaches it about once a day.
    /// </summary>
    public int NegativeEvidenceThreshold { get; set; } = 3;

    /// <summary>How long a request (echo, ARP who-has) waits for its answer before it counts as unanswered. Default 2 s, range 0.1–60 s.</summary>
    public TimeSpan ReplyTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long after an answer a repeated DNS query or SYN still counts as "repeated after the answer". Default 30 s, range 1–600 s.</summary>
    public TimeSpan RepeatWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long after an ARP reply the target's repeated who-has for the same address counts as "asked again". Default 5 s,
    /// range 1–60 s: a host that received the reply caches it for tens of seconds (Linux base_reachable_time 30 s).
    /// </summary>
    public TimeSpan ArpRepeatWindow { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long without a frame from the target makes a deaf target down. Default 30 s, range 1–3600 s. A deaf host in
    /// the lab's third phase only transmits ARP bursts, so this must exceed the gap between bursts.
    /// </summary>
    public TimeSpan SilenceWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A frame counts as "transmitting while not answering" only when it comes this long after the first unanswered
    /// request: a host that dies can still have a frame on the wire a moment after a request it never answered.
    /// Default 0.5 s, range 0–10 s.
    /// </summary>
    public TimeSpan TransmitGrace { get; set; } = TimeSpan.FromSeconds(0.5);

    /// <summary>
    /// A target that stopped answering and has not transmitted is called down only once this long has passed since the
    /// first unanswered request: several probes can go unanswered in the same second, before a deaf target's next frame
    /// has had time to show. Its link going down makes it down at once. Default 2 s, range 0–60 s.
    /// </summary>
    public TimeSpan DownConfirmation { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a new MAC must claim the target's address, with its old MAC silent as long, before it is taken as the
    /// target's (a network card swapped). Until then every frame from it is an address conflict that proves nothing.
    /// A configured MAC never changes this way. Default 300 s, range 10–86400 s.
    /// </summary>
    public TimeSpan MacChange { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// Switched view (a plain switch port, Wi-Fi): a target that answers nothing is down only when its own cadence of
    /// broadcasts and multicasts, learned while it answered, is overdue by this factor (its longest recent gap × the
    /// factor, bounded by <see cref="OverdueFloor"/> and <see cref="OverdueMax"/>). Default 3, range 1.5–20.
    /// </summary>
    public double OverdueFactor { get; set; } = 3;

    /// <summary>Switched view: the shortest time without a frame that can make a target down. Default 10 s, range 1–3600 s.</summary>
    public TimeSpan OverdueFloor { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Switched view: the longest time without a frame before a target that answers nothing is down, and the time
    /// used when it never broadcast while it answered (no cadence learned). Default 300 s, range 5–86400 s.
    /// </summary>
    public TimeSpan OverdueMax { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// Returns every problem with these options, each naming the setting by <paramref name="name"/> (default: its
    /// configuration key; the command line names its flag); empty when valid. Ranges come from
    /// <see cref="VerdictSetting.All"/>, rules between two settings from <see cref="VerdictSetting.Rules"/>. Every entry
    /// point that builds options (configuration file, environment, command line, reload) calls it.
    /// </summary>
    public IReadOnlyList<string> Validate(Func<VerdictSetting, string>? name = null)
    {
        name ??= v => v.Key;
        var problems = VerdictSetting.All.Where(v => !v.Range.Contains(v.Get(this)))
            .Select(v => string.Create(CultureInfo.InvariantCulture, $"{name(v)}: must be {v.Range.Noun} ({v.Range.Text}), not {v.Get(this)}")).ToList();
        foreach (var (low, high) in VerdictSetting.Rules)
            if (low.Get(this) > high.Get(this))
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"{name(low)}: must not exceed {name(high)} ({high.Get(this)}), not {low.Get(this)}"));
        return problems;
    }
}

/// <summary>
/// One threshold of <see cref="VerdictOptions"/>: its configuration key (under "thresholds"), its command-line flag,
/// its range and its help. The command line, the configuration file and <see cref="VerdictOptions.Validate"/> all read
/// this table, so a new threshold is one row here.
/// </summary>
public sealed record VerdictSetting(string Key, string Flag, ValueRange Range, string Help, Func<VerdictOptions, double> Get, Action<VerdictOptions, double> Set)
{
    /// <summary>Every threshold.</summary>
    public static IReadOnlyList<VerdictSetting> All { get; } =
    [
        new("negativeEvidenceThreshold", "--threshold", new(1, 100, Whole: true), "unanswered requests in a row that make a target deaf or down",
            o => o.NegativeEvidenceThreshold, (o, v) => o.NegativeEvidenceThreshold = (int)v),
        Seconds("replyTimeoutSeconds", "--reply-timeout", 0.1, 60, "an echo request or ARP who-has waits this long for its reply",
            o => o.ReplyTimeout, (o, v) => o.ReplyTimeout = v),
        Seconds("repeatWindowSeconds", "--repeat-window", 1, 600, "a DNS query or SYN repeated this soon after its answer counts",
            o => o.RepeatWindow, (o, v) => o.RepeatWindow = v),
        Seconds("arpRepeatWindowSeconds", "--arp-repeat-window", 1, 60, "the target's ARP repeated this soon after the reply counts",
            o => o.ArpRepeatWindow, (o, v) => o.ArpRepeatWindow = v),
        Seconds("silenceWindowSeconds", "--silence", 1, 3600, "no frame for this long turns a deaf target into a down one",
            o => o.SilenceWindow, (o, v) => o.SilenceWindow = v),
        Seconds("transmitGraceSeconds", "--transmit-grace", 0, 10, "a frame counts as sent while deaf only this long after the first unanswered request",
            o => o.TransmitGrace, (o, v) => o.TransmitGrace = v),
        Seconds("downConfirmationSeconds", "--down-confirmation", 0, 60, "a silent target is called down only this long after its first unanswered request",
            o => o.DownConfirmation, (o, v) => o.DownConfirmation = v),
        Seconds("macChangeSeconds", "--mac-change", 10, 86400, "a new MAC is taken as the target's only after claiming its address this long while the old one is silent",
            o => o.MacChange, (o, v) => o.MacChange = v),
        new("overdueFactor", "--overdue-factor", new ValueRange(1.5, 20, Unit: "a factor"), "switched view: a target is down when its usual gap between broadcasts is overdue this many times",
            o => o.OverdueFactor, (o, v) => o.OverdueFactor = v),
        Seconds("overdueFloorSeconds", "--overdue-floor", 1, 3600, "switched view: the shortest silence that makes a target that answers nothing down",
            o => o.OverdueFloor, (o, v) => o.OverdueFloor = v),
        Seconds("overdueMaxSeconds", "--overdue-max", 5, 86400, "switched view: the longest silence before a target that answers nothing is down (and the one used when it never broadcast)",
            o => o.OverdueMax, (o, v) => o.OverdueMax = v),
    ];

    /// <summary>Pairs of settings where the first must not exceed the second.</summary>
    public static IReadOnlyList<(VerdictSetting Low, VerdictSetting High)> Rules { get; } =
    [
        (All.Single(v => v.Key == "overdueFloorSeconds"), All.Single(v => v.Key == "overdueMaxSeconds")),
    ];

    private static VerdictSetting Seconds(string key, string flag, double min, double max, string help, Func<VerdictOptions, TimeSpan> get, Action<VerdictOptions, TimeSpan> set) =>
        new(key, flag, new ValueRange(min, max), help, o => get(o).TotalSeconds, (o, v) => set(o, TimeSpan.FromSeconds(v)));

    /// <summary>The default value, as text for help.</summary>
    public string DefaultText => Get(new VerdictOptions()).ToString(CultureInfo.InvariantCulture);
}
