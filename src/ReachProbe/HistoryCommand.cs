using System.CommandLine;
using ReachProbe.History;

namespace ReachProbe.Cli;

/// <summary><c>reachprobe history copy</c>: an agent's SQLite history into a fleet's PostgreSQL, once.</summary>
internal static class HistoryCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var from = Values.Path("--from", "the agent's SQLite history file to copy");
        var to = Values.Path("--to", "the fleet's database: postgresql://[user@][host][:port]/db (or another SQLite file)", "URI");
        var agent = Values.Word("--agent", "the agent the copied rows belong to (default: the agent that wrote the file, else this host's name)", "NAME");
        var site = Values.Word("--site", "its site (default: the one the file names)", "SITE");
        var copy = new Command("copy", "copy an agent's history file into a fleet's database; a second copy copies nothing") { from, to, agent, site };
        copy.SetAction(parse => Copy(parse.GetValue(from), parse.GetValue(to), parse.GetValue(agent), parse.GetValue(site), stdout, stderr));
        return new Command("history", "move a history between databases") { copy };
    }

    private static int Copy(string? from, string? to, string? agent, string? site, TextWriter stdout, TextWriter stderr)
    {
        if (from is null || to is null) throw new UsageException("history copy needs --from FILE and --to postgresql://…");
        if (PostgresLocation.IsUri(from)) throw new UsageException("--from takes an agent's SQLite file; copying out of PostgreSQL is pg_dump's work");
        try
        {
            using var source = HistoryStore.OpenReadOnly(from);
            var name = agent ?? source.WrittenBy() ?? HistoryAgent.Default.Name;
            var who = new HistoryAgent(name, site ?? source.SiteOf(name));
            using var target = HistoryStore.Open(to, who);
            if (!PostgresLocation.IsUri(to) && Path.GetFullPath(to) == Path.GetFullPath(from)) throw new UsageException("--from and --to are the same file");
            stderr.WriteLine($"reachprobe history copy: {from} → {target.Path} as agent {who.Name}{(who.Site is null ? "" : $" (site {who.Site})")} …");
            var copied = source.Path == target.Path ? null : target.CopyFrom(source);
            stdout.WriteLine(copied is null ? "nothing to copy"
                : $"copied {copied.Incidents} of {copied.IncidentsRead} incident(s), {copied.Runs} of {copied.RunsRead} run(s), {copied.Firmware} of {copied.FirmwareRead} firmware change(s)"
                + (copied.Incidents + copied.Runs + copied.Firmware == 0 ? " (all were there already)" : ""));
            return CommandLine.Ok;
        }
        catch (HistoryException e)
        {
            stderr.WriteLine($"reachprobe: {e.Message}");
            return CommandLine.Usage;
        }
    }
}
