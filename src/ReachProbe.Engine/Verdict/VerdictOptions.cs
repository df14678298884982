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

    /// <summary>Returns every problem with these options, each naming the option; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (NegativeEvidenceThreshold is < 1 or > 100) problems.Add($"NegativeEvidenceThreshold must be 1–100, not {NegativeEvidenceThreshold}");
        Check(problems, nameof(ReplyTimeout), ReplyTimeout, 0.1, 60);
        Check(problems, nameof(RepeatWindow), RepeatWindow, 1, 600);
        Check(problems, nameof(ArpRepeatWindow), ArpRepeatWindow, 1, 60);
        Check(problems, nameof(SilenceWindow), SilenceWindow, 1, 3600);
        Check(problems, nameof(TransmitGrace), TransmitGrace, 0, 10);
        Check(problems, nameof(DownConfirmation), DownConfirmation, 0, 60);
        return problems;
    }

    private static void Check(List<string> problems, string name, TimeSpan value, double min, double max)
    {
        if (value.TotalSeconds < min || value.TotalSeconds > max)
            problems.Add($"{name} must be {min}–{max} s, not {value.TotalSeconds} s");
    }
}
