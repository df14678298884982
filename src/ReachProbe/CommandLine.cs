using System.Reflection;

namespace ReachProbe.Cli;

/// <summary>Entry point: picks the subcommand. Exit codes: 0 success, 1 the command's own "not OK" result, 2 bad usage or input.</summary>
internal static class CommandLine
{
    public const int Ok = 0, Usage = 2;

    public const string Help = """
        reachprobe — tells a host that won't answer (deaf) from one that is down.

        Usage:
          reachprobe analyze FILE [options]   analyse a pcap/pcapng capture; print an incident timeline
          reachprobe probe TARGET [options]   probe a host now: ICMP, ARP, DNS, TCP, console discovery
          reachprobe run [options]            the live agent: probes + capture → verdicts → /metrics
          reachprobe report [options]         incidents per firmware or per week from the history database
          reachprobe --help | --version

        analyze options:
          --target IP[=MAC]     a host to analyse (repeatable); default: every host on the captured
                                segment that others pinged or ARPed for
          --json                JSON instead of the timeline (shape in README)
          --quiet               no progress on stderr (progress is also off when stderr is not a terminal)
          --threshold N         unanswered requests in a row that make a target deaf or down (default 3)
          --reply-timeout SEC   wait for an echo or ARP reply (default 2)
          --repeat-window SEC   a DNS query or SYN repeated this soon after its answer counts (default 30)
          --arp-repeat-window SEC  the target's ARP repeated this soon after the reply counts (default 5)
          --silence SEC         no frame for this long makes a deaf target down (default 30)
          --import              add the capture's incidents to the history database (--db FILE, default
                                /var/lib/reachprobe/history.db; --firmware LABEL for the firmware at the time)

        probe options:
          --probes LIST         comma-separated: icmp, arp, dns[:NAME], dns@target[:NAME], tcp:PORT, ddp
                                (default icmp,arp,ddp)
          --count N             rounds (default 5)
          --interval SEC        between rounds (default 1)
          --timeout SEC         per attempt (default 1); probes are never retried
          --interface NAME      interface for ARP (default: the one on the target's subnet)
          --dns-server IP       server for 'dns' (default: the first nameserver in /etc/resolv.conf)
          --mac MAC             the target's expected MAC (ARP warns when another answers)
          --json                JSON instead of the summary

        run options:
          --config FILE         JSON configuration (example: config/reachprobe.json)
          --target IP           monitor this host with the default probes (repeatable); default: the gateway
          --interval SEC        probe interval for those targets (default 5)
          --listen ADDR:PORT    metrics address (default 0.0.0.0:9942)
          --interface NAME      capture interface (default: the one facing the targets)
          --history FILE|none   incident history database (default /var/lib/reachprobe/history.db)
          --check               validate the configuration and exit

        report options:
          --db FILE             history database (default $REACHPROBE_DB, else /var/lib/reachprobe/history.db)
          --since SPAN          how far back: 12w, 30d, 48h (default 12w)
          --target NAME         one target only
          --by firmware|week    rows per firmware (default) or per week
          --json                JSON instead of the table
          --html FILE           also write an HTML page with a chart of incidents per week coloured by firmware

        Exit status: analyze: 0 analysed; 2 bad usage, or a capture that is missing, unsupported or broken
        (a capture broken part-way is still analysed up to the break). probe: 0 every probe answered at
        least once (a TCP refusal counts: the host received); 1 otherwise; 2 bad usage.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            (args.Length == 0 ? stderr : stdout).WriteLine(Help);
            return args.Length == 0 ? Usage : Ok;
        }
        if (args[0] is "--version")
        {
            stdout.WriteLine("reachprobe " + (typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0"));
            return Ok;
        }
        try
        {
            return args[0] switch
            {
                "analyze" => await Task.Run(() => AnalyzeCommand.Run(args[1..], stdout, stderr)),
                "probe" => await ProbeCommand.RunAsync(args[1..], stdout, stderr),
                "run" => await RunCommand.RunAsync(args[1..], stdout, stderr),
                "report" => ReportCommand.Run(args[1..], stdout, stderr),
                _ => UsageError(stderr, $"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            return UsageError(stderr, e.Message);
        }
    }

    /// <summary>The value after an option, or a usage error naming the option.</summary>
    public static string Value(string[] args, ref int i, string option) =>
        ++i < args.Length ? args[i] : throw new UsageException($"{option} needs a value");

    public static int UsageError(TextWriter stderr, string message)
    {
        stderr.WriteLine($"reachprobe: {message} (see 'reachprobe --help')");
        return Usage;
    }
}

/// <summary>A command line that cannot be run as given.</summary>
internal sealed class UsageException(string message) : Exception(message);
